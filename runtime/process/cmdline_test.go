package process_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/berthdev/berth/runtime/process"
)

// A process's command line reads empty while it execs a new program and
// once it has begun to exit. The supervisor's identity check (is this PID
// the environment's supervisor, before TERM) read it as "runs something
// else" and refused: `berth supervisor replace` failed with "PID n is not
// the supervisor" when the old supervisor was already exiting. Cmdline
// reads again through the exec, and reports an exiting process as gone.
func TestCmdlineThroughExecAndExit(t *testing.T) {
	for i := range 40 {
		c := exec.Command("/bin/sh", "-c", "read -r _; exec sleep 60")
		in, err := c.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		pid := c.Process.Pid
		in.Write([]byte("go\n"))
		for n := 0; ; n++ {
			args, live := process.Cmdline(pid)
			if !live || len(args) == 0 {
				t.Fatalf("launch %d, read %d, through the shell's exec of sleep: %q live=%v; want its command line", i, n, args, live)
			}
			if args[0] == "sleep" {
				break
			}
		}
		done := make(chan struct{})
		go func() {
			c.Process.Kill()
			c.Wait()
			close(done)
		}()
		for n := 0; ; n++ {
			args, live := process.Cmdline(pid)
			if live && !slices.Equal(args, []string{"sleep", "60"}) {
				t.Fatalf("launch %d, read %d, through its exit: %q live=%v; want sleep's command line or gone", i, n, strings.Join(args, " "), live)
			}
			if !live {
				break
			}
		}
		<-done
	}
}

package process_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/runtime"
)

// A service in the middle of an exec is still the service. From the moment
// execve replaces a process's memory until the kernel has laid out the new
// program's arguments and environment, /proc/<pid>/environ reads empty (tens
// of microseconds; milliseconds on a loaded machine). A wrapper script that
// execs its program, or a service berth has just launched, is caught there
// now and then: berth must read it again rather than take it for a process
// without the launch token (status would show it stopped; stop and forget
// would drop its record without signalling it). Here a shell execs sleep
// when the test says so, and is inspected over and over through the exec.
func TestServiceMidExecIsRecognised(t *testing.T) {
	ctx := context.Background()
	r := newRunner()
	for i := range 40 {
		svc := service(t, fmt.Sprintf("midexec%d", i))
		var st syscall.Stat_t
		if err := syscall.Stat(svc.Root, &st); err != nil {
			t.Fatal(err)
		}
		token := fmt.Sprintf("%d:%d/%s/%d", st.Dev, st.Ino, svc.Name, i)
		c := exec.Command("/bin/sh", "-c", "read -r _; exec sleep 60")
		c.Dir, c.Env = svc.Dir, []string{"BERTH_LAUNCH=" + token, "PATH=/usr/bin:/bin"}
		c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		go1, err := c.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		pid := c.Process.Pid
		stat, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		start, _ := strconv.ParseUint(f[19], 10, 64)
		h := runtime.Handle{Service: svc.Name, Runner: metadata.RunnerProcess, PID: pid, PGID: pid,
			StartTime: start, Env: svc.Root, Token: token}
		data, _ := json.Marshal(h)
		writePIDFile(t, svc, string(data))
		go1.Write([]byte("go\n"))
		for n := 0; ; n++ {
			got, err := r.Inspect(ctx, svc)
			if err != nil || !got.IsRunning() {
				t.Fatalf("launch %d, inspection %d, through the shell's exec of sleep: %+v %v; want running", i, n, got, err)
			}
			if cmd, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline"); strings.HasPrefix(string(cmd), "sleep") {
				break
			}
		}
		c.Process.Kill()
		c.Wait()
	}
}

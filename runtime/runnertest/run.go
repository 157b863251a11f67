package runnertest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/berthdev/berth/hack/testkit"
	"github.com/berthdev/berth/runtime"
)

// Run returns the service's exit code, or 128+N when signal N killed it,
// keeps a record while it runs and none after.
func (s *suite) runExitCodes(t *testing.T) {
	s.need(t, s.caps.Foreground, "Foreground")
	for _, tc := range []struct {
		b    Behaviour
		code int
	}{{Exit3, 3}, {KilledByTerm, 128 + int(syscall.SIGTERM)}} {
		svc := s.Service(t, tc.b)
		var seen runtime.Handle
		exit, err := s.r.Run(context.Background(), svc, runtime.Stdio{}, func(hd runtime.Handle) {
			seen = hd
			if st, _ := s.r.Inspect(context.Background(), svc); st.Handle == nil {
				t.Errorf("no record while running in the foreground")
			}
		})
		if err != nil {
			t.Fatalf("run: %v", err)
		}
		if exit.ExitCode() != tc.code {
			t.Errorf("exit code %d, want %d", exit.ExitCode(), tc.code)
		}
		if seen.PID == 0 && seen.ID == "" {
			t.Errorf("launched callback not called with a handle")
		}
		if st := inspect(t, s.r, svc); st.Handle != nil {
			t.Errorf("record left after the foreground run: %+v", st)
		}
	}
}

// Run forwards the signals berth receives: INT to a service that does not
// handle it ends it by INT; its output reaches stdout.
func (s *suite) runForwardsSignals(t *testing.T) {
	s.need(t, s.caps.Foreground, "Foreground")
	svc := s.Service(t, Serve)
	out, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	sigs := make(chan os.Signal, 1)
	ctx, cancel := context.WithTimeout(context.Background(), s.deadline())
	defer cancel()
	exit, err := s.r.Run(ctx, svc, runtime.Stdio{Stdout: out, Stderr: out, Signals: sigs}, func(runtime.Handle) {
		// Signal once the service has spoken, so INT cannot overtake its
		// start; signal anyway if it stays silent: the exit then fails.
		go func() {
			testkit.Poll(s.deadline(), func() error {
				if b, _ := os.ReadFile(out.Name()); !strings.Contains(string(b), "ready") {
					return fmt.Errorf("output %q lacks ready", b)
				}
				return nil
			})
			sigs <- syscall.SIGINT
		}()
	})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if exit.ExitCode() != 128+int(syscall.SIGINT) {
		t.Errorf("exit %+v (code %d); want killed by INT (%d)", exit, exit.ExitCode(), 128+int(syscall.SIGINT))
	}
	if b, _ := os.ReadFile(out.Name()); !strings.Contains(string(b), "ready") {
		t.Errorf("stdout %q; want ready", b)
	}
}

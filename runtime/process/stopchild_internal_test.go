package process

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/runtime"
)

func startSleepForTest(t *testing.T, r *Runner, name string) (*runtime.Service, runtime.Handle) {
	t.Helper()
	dir := t.TempDir()
	svc := &runtime.Service{Name: name, Runner: metadata.RunnerProcess, Argv: []string{"sleep", "60"},
		Env: os.Environ(), Dir: dir, StopSignal: syscall.SIGTERM, StopGrace: 5 * time.Second,
		StateDir: filepath.Join(dir, "pids"), Root: dir}
	h, err := r.Start(context.Background(), svc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		r.Stop(context.Background(), svc, h, runtime.StopOptions{Signal: syscall.SIGKILL, Grace: time.Second, Kill: true})
	})
	return svc, h
}

// The stop of a service the runner launched and has not reaped shows it is
// the service's from the launch token the runner gave it: its environment
// is not read from /proc (a supervised stop of 100 read 100 of them).
func TestStopOfOwnChildReadsNotItsEnvironment(t *testing.T) {
	r := New(Options{})
	svc, h := startSleepForTest(t, r, "a")
	var mu sync.Mutex
	read := map[int]bool{}
	environRead = func(pid int) { mu.Lock(); read[pid] = true; mu.Unlock() }
	t.Cleanup(func() { environRead = nil })
	if err := r.Stop(context.Background(), svc, h, runtime.StopOptions{Signal: syscall.SIGTERM, Grace: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	if read[h.PID] {
		t.Errorf("the stop of its own child %d read its environment", h.PID)
	}
	if alive(h.PID, h.StartTime) {
		t.Errorf("PID %d still runs after its stop", h.PID)
	}
}

// A record naming the runner's own child with a token not its own (or of
// another service) is not shown to be the service's by the child's
// record: the full check decides, and signals nothing.
func TestStopOfOwnChildWithAnotherTokenSignalsNothing(t *testing.T) {
	r := New(Options{})
	svc, h := startSleepForTest(t, r, "a")
	other := *svc
	other.Name = "b"
	forged := h
	forged.Token = h.Token[:len(h.Token)-4] + "0000"
	for _, tc := range []struct {
		name string
		svc  *runtime.Service
		h    runtime.Handle
	}{{"another token", svc, forged}, {"another service", &other, h}} {
		if _, ok := r.verifyChild(tc.svc, tc.h); ok {
			t.Errorf("%s: verifyChild took it for the child", tc.name)
		}
		r.Stop(context.Background(), tc.svc, tc.h, runtime.StopOptions{Signal: syscall.SIGTERM, Grace: 200 * time.Millisecond})
		if !alive(h.PID, h.StartTime) {
			t.Fatalf("%s: PID %d was signalled", tc.name, h.PID)
		}
	}
}

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

// A runner that launched services (the supervisor) knows the launch token
// each carries: a stop's walk of /proc reads the environment of none of
// them. A stop of 100 supervised services read 100 environments, under
// the runner's lock, to learn what the runner had set itself.
func TestStopReadsNoEnvironmentOfItsOwnServices(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	r := New(Options{})
	var svcs []*runtime.Service
	var hs []runtime.Handle
	for _, name := range []string{"a", "b", "c"} {
		svc := &runtime.Service{Name: name, Runner: metadata.RunnerProcess, Argv: []string{"sleep", "60"},
			Env: os.Environ(), Dir: dir, StopSignal: syscall.SIGTERM, StopGrace: 5 * time.Second,
			StateDir: filepath.Join(dir, "pids"), Root: dir}
		h, err := r.Start(ctx, svc)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			r.Stop(ctx, svc, h, runtime.StopOptions{Signal: syscall.SIGKILL, Grace: time.Second, Kill: true})
		})
		svcs, hs = append(svcs, svc), append(hs, h)
		time.Sleep(20 * time.Millisecond) // a later start time for the next
	}
	var mu sync.Mutex
	read := map[int]bool{}
	environRead = func(pid int) { mu.Lock(); read[pid] = true; mu.Unlock() }
	t.Cleanup(func() { environRead = nil })
	if err := r.Stop(ctx, svcs[0], hs[0], runtime.StopOptions{Signal: syscall.SIGTERM, Grace: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	for _, h := range hs[1:] {
		if read[h.PID] {
			t.Errorf("the stop of a read the environment of PID %d, a service the runner launched", h.PID)
		}
	}
}

package swarm_test

import (
	"context"
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/runtime"
	"github.com/berthdev/berth/runtime/swarm"
)

// TestConcurrentStartsShareTheNetwork: services of one environment started
// together (as start all does) all make or find the environment's overlay
// network; the daemon refuses all but one creation with a message only.
func TestConcurrentStartsShareTheNetwork(t *testing.T) {
	t.Parallel()
	r := newRunner(t, nil)
	ctx := context.Background()
	first := service(t, metadata.SwarmSpec{})
	svcs := []*runtime.Service{first}
	for i := 1; i < 8; i++ {
		s := *first
		s.Name = fmt.Sprintf("svc%d", i)
		svcs = append(svcs, &s)
		t.Cleanup(func() { swarm.RemoveService(context.Background(), cli, swarm.Name(&s)) })
	}
	errs := make([]error, len(svcs))
	var wg sync.WaitGroup
	for i, s := range svcs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = r.Start(ctx, s)
		}()
	}
	wg.Wait()
	for i, s := range svcs {
		if errs[i] != nil {
			t.Errorf("start %s: %v", s.Name, errs[i])
		}
	}
	for _, s := range svcs {
		if err := r.Stop(ctx, s, runtime.Handle{}, runtime.StopOptions{Signal: syscall.SIGTERM, Grace: 2 * time.Second}); err != nil {
			t.Errorf("stop %s: %v", s.Name, err)
		}
	}
}

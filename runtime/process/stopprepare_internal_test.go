package process

import (
	"context"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/berthdev/berth/runtime"
)

// The walks of /proc that stops share can be made ahead of them
// (PrepareStops, while the command plans): a stop within scanTTL then
// walks no more.
func TestPreparedStopWalksNoMore(t *testing.T) {
	svc, h := startForeign(t, "a")
	r := New(Options{})
	var mu sync.Mutex
	walks := 0
	walkSeen = func() { mu.Lock(); walks++; mu.Unlock() }
	t.Cleanup(func() { walkSeen = nil })
	r.PrepareStops(h.StartTime)
	mu.Lock()
	prepared := walks
	walks = 0
	mu.Unlock()
	if prepared != 1 {
		t.Fatalf("PrepareStops walked /proc %d times, want once", prepared)
	}
	if err := r.Stop(context.Background(), svc, h, runtime.StopOptions{Signal: syscall.SIGTERM, Grace: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if walks != 0 {
		t.Errorf("the stop walked /proc %d times after PrepareStops, want none", walks)
	}
	if alive(h.PID, h.StartTime) {
		t.Errorf("PID %d still runs after its stop", h.PID)
	}
}

package process

import (
	"context"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/berthdev/berth/runtime"
)

// A stop that follows an inspection by the same runner (a stop's plan)
// reads the leader's environment once, in the inspection: the stop shows
// the PID is still the process with that start time, which the
// inspection showed carries the token.
func TestStopAfterInspectReadsTheEnvironmentOnce(t *testing.T) {
	svc, h := startForeign(t, "a")
	r := New(Options{})
	var mu sync.Mutex
	reads := 0
	environRead = func(pid int) {
		if pid == h.PID {
			mu.Lock()
			reads++
			mu.Unlock()
		}
	}
	t.Cleanup(func() { environRead = nil })
	st, err := r.Inspect(context.Background(), svc)
	if err != nil || !st.IsRunning() {
		t.Fatalf("inspect: %+v %v", st, err)
	}
	if err := r.Stop(context.Background(), svc, *st.Handle, runtime.StopOptions{Signal: syscall.SIGTERM, Grace: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	if reads != 1 {
		t.Errorf("the environment of PID %d was read %d times; want once, by the inspection", h.PID, reads)
	}
	if alive(h.PID, h.StartTime) {
		t.Errorf("PID %d still runs after its stop", h.PID)
	}
}

// A token remembered for a PID and start time vouches for that process
// and that token only: a record naming another start time (the PID
// reused) or another token is verified from /proc.
func TestRememberedTokenNamesOneProcess(t *testing.T) {
	svc, h := startForeign(t, "a")
	r := New(Options{})
	other := h
	other.Token = h.Token[:len(h.Token)-1] + "x"
	r.remember(other)
	if _, ok := r.verifyKnown(svc, h); ok {
		t.Error("a token remembered for the process vouched for the record's other token")
	}
	stale := h
	stale.StartTime = h.StartTime - 1
	r.remember(stale)
	if _, ok := r.verifyKnown(svc, h); ok {
		t.Error("a token remembered for another start time vouched for the process")
	}
	r.remember(h)
	if v, ok := r.verifyKnown(svc, h); !ok || !v.leader {
		t.Error("the token remembered for the process did not vouch for it")
	}
	r.mu.Lock()
	r.known[h.PID] = knownLeader{h.StartTime, h.Token, time.Now().Add(-2 * knownTTL)}
	r.mu.Unlock()
	if _, ok := r.verifyKnown(svc, h); ok {
		t.Error("a token remembered longer ago than knownTTL vouched for the process")
	}
}

package supervisor

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/berthdev/berth/runtime"
	"github.com/berthdev/berth/runtime/process"
)

// A stop all of supervised services is one request to the supervisor
// (Protocol 6), which begins every stop before it waits for any: as 100
// requests, the waits begun for the first stops took the processor from
// the reading and signalling of the last. Each stop is still answered on
// its own, once its exit is recorded.
func TestStopAllIsOneRequest(t *testing.T) {
	const n = 4
	env, c, _ := serveForTest(t, n)
	r := NewRunner(process.New(process.Options{}), c)
	var pids []int
	for _, name := range []string{"s0", "s1", "s2", "s3"} {
		_, h := startSettled(t, env, r, name)
		pids = append(pids, h.PID)
	}
	var mu sync.Mutex
	ops := map[string]int{}
	record := func(op string) { mu.Lock(); ops[op]++; mu.Unlock() }
	onRequest.Store(&record)
	t.Cleanup(func() { onRequest.Store(nil) })
	m := managerOf(env, r)
	defer m.Close()
	res, err := m.Stop(context.Background(), []string{"all"}, runtime.StopRequest{Grace: 5 * time.Second})
	if err != nil || len(res) != n {
		t.Fatalf("stop all: %+v, %v", res, err)
	}
	mu.Lock()
	if ops[opStops] != 1 || ops[opStop] != 0 {
		t.Errorf("requests %v: want one %q and no %q", ops, opStops, opStop)
	}
	mu.Unlock()
	for _, r := range res {
		if !r.WasRunning {
			t.Errorf("%s: %+v, want stopped while running", r.Name, r)
		}
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("PID %d after the stop: %v; want gone (reaped by the supervisor)", pid, err)
		}
	}
	for _, name := range []string{"s0", "s1", "s2", "s3"} {
		rec, err := ReadRecord(c.Paths, name)
		if err != nil || rec.Stopped != "by user" || rec.Supervised || rec.Wanted {
			t.Errorf("record of %s after the stop: %+v %v", name, rec, err)
		}
		if _, err := os.Stat(filepath.Join(env.Path("pids"), name+".pid")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("PID file of %s after the stop: %v", name, err)
		}
	}
}

// A stop's survey (PrefetchLiveForStop) has the supervisor prepare the
// walks its stops share, from the earliest launch it watches; a status's
// survey does not.
func TestAStopsSurveyPreparesItsStops(t *testing.T) {
	env, c, _ := serveForTest(t, 2)
	r := NewRunner(process.New(process.Options{}), c)
	var from uint64
	for _, name := range []string{"s0", "s1"} {
		svc, h := startSettled(t, env, r, name)
		stopAtCleanup(t, r, svc, h)
		if from == 0 || h.StartTime < from {
			from = h.StartTime
		}
	}
	got := make(chan uint64, 2)
	f := func(from uint64) { got <- from }
	onPrepareStops.Store(&f)
	t.Cleanup(func() { onPrepareStops.Store(nil) })
	c.PrefetchLive()
	if _, err := c.takeLive(); err != nil {
		t.Fatal(err)
	}
	c.PrefetchLiveForStop()
	if _, err := c.takeLive(); err != nil {
		t.Fatal(err)
	}
	select {
	case f := <-got:
		if f != from {
			t.Errorf("prepared the stops from %d, want %d (the earliest launch)", f, from)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a stop's survey prepared no stops")
	}
	select {
	case <-got:
		t.Error("a status's survey prepared stops too")
	default:
	}
}

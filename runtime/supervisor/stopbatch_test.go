package supervisor

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/berthdev/berth/metadata"
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

// recordReads counts the reads of a service's record a stop makes through
// RecordChecker, the supervised runner's otherwise.
type recordReads struct {
	*Runner
	n atomic.Int64
}

func (r *recordReads) StillRecorded(svc *runtime.Service, h runtime.Handle) bool {
	r.n.Add(1)
	return r.Runner.StillRecorded(svc, h)
}

// A supervised stop all reads each record once, in its plan: the
// supervisor, which knows the launch it watches, checks the record the
// plan read as it begins each stop (Protocol 8). Read again before the
// stops, 100 records were 400 system calls on the way to the first signal.
func TestAStopAllReadsEachRecordOnce(t *testing.T) {
	env, c, _ := serveForTest(t, 3)
	r := NewRunner(process.New(process.Options{}), c)
	for _, name := range []string{"s0", "s1", "s2"} {
		startSettled(t, env, r, name)
	}
	counted := &recordReads{Runner: r}
	m := managerOf(env, counted)
	defer m.Close()
	res, err := m.Stop(context.Background(), []string{"all"}, runtime.StopRequest{Grace: 5 * time.Second})
	if err != nil || len(res) != 3 {
		t.Fatalf("stop all: %+v, %v", res, err)
	}
	if n := counted.n.Load(); n != 0 {
		t.Errorf("the stop read records %d times after its plan, want none", n)
	}
	for _, r := range res {
		if !r.WasRunning {
			t.Errorf("%s: %+v, want stopped while running", r.Name, r)
		}
	}
}

// A service relaunched between a stop's plan and its stop is stopped as
// it is then: the supervisor answers the planned launch's stop codeMoved,
// and the command inspects the service again.
func TestAStopAllStopsWhatWasRelaunchedSinceItsPlan(t *testing.T) {
	env, c, _ := serveCommandForTest(t, 2, "[sleep, \"1000\"]\n    restart: always\n    restart_backoff: {initial: 1ms}")
	r := NewRunner(process.New(process.Options{}), c)
	_, h0 := startSettled(t, env, r, "s0")
	_, h1 := startSettled(t, env, r, "s1")
	m := managerOf(env, r)
	defer m.Close()
	ctx := context.Background()
	p, err := m.PlanStop(ctx, []string{"all"}, runtime.StopRequest{Grace: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	syscall.Kill(h0.PID, syscall.SIGKILL)
	var again Record
	deadline := time.Now().Add(5 * time.Second)
	for {
		again, _ = ReadRecord(c.Paths, "s0")
		if again.PID != 0 && again.PID != h0.PID {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("s0 was not relaunched: %+v", again)
		}
		time.Sleep(time.Millisecond)
	}
	res, err := m.ExecuteStop(ctx, p)
	if err != nil {
		t.Fatalf("stop all: %+v, %v", res, err)
	}
	wantGone(t, again.PID, h1.PID)
}

// A stop of a batch carries the launch and the options only, not the
// command's Spec of the service (the supervisor stops the service it
// watches): about 200 bytes, not 600 to 700, each encoded by the command
// and validated and decoded by the supervisor before its signal.
func TestABatchStopIsTheLaunchAndTheOptions(t *testing.T) {
	env, c, _ := serveForTest(t, 3)
	r := NewRunner(process.New(process.Options{}), c)
	for _, name := range []string{"s0", "s1", "s2"} {
		startSettled(t, env, r, name)
	}
	var mu sync.Mutex
	var sizes []int
	f := func(batch []json.RawMessage) {
		mu.Lock()
		defer mu.Unlock()
		for _, raw := range batch {
			sizes = append(sizes, len(raw))
		}
	}
	onStops.Store(&f)
	t.Cleanup(func() { onStops.Store(nil) })
	m := managerOf(env, r)
	defer m.Close()
	res, err := m.Stop(context.Background(), []string{"all"}, runtime.StopRequest{Grace: 5 * time.Second})
	if err != nil || len(res) != 3 {
		t.Fatalf("stop all: %+v, %v", res, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(sizes) != 3 {
		t.Fatalf("stops in batches: %v, want 3 in one", sizes)
	}
	for _, n := range sizes {
		if n > 256 {
			t.Errorf("a stop of the batch is %d bytes, want at most 256: %v", n, sizes)
		}
	}
}

// plainReads counts the reads of a service's record the manager asks of
// the process runner (RecordChecker).
type plainReads struct {
	*process.Runner
	n atomic.Int64
}

func (r *plainReads) StillRecorded(svc *runtime.Service, h runtime.Handle) bool {
	r.n.Add(1)
	return r.Runner.StillRecorded(svc, h)
}

// startPlain starts name through the process runner, with no supervisor.
func startPlain(t *testing.T, env *metadata.Env, r *process.Runner, name string) runtime.Handle {
	t.Helper()
	svc, h := startOf(t, env, r, name)
	t.Cleanup(func() {
		r.Stop(context.Background(), svc, h, runtime.StopOptions{Signal: syscall.SIGKILL, Grace: time.Second})
	})
	return h
}

// Without a supervisor too, a stop all reads each record once, in its
// plan: the process runner's stop takes the planned record as it is while
// the planned process lives, and reads it again only once it is gone.
func TestAnUnsupervisedStopAllReadsEachRecordOnce(t *testing.T) {
	env, _, _ := serveForTest(t, 3)
	proc := process.New(process.Options{})
	var pids []int
	for _, name := range []string{"s0", "s1", "s2"} {
		pids = append(pids, startPlain(t, env, proc, name).PID)
	}
	counted := &plainReads{Runner: proc}
	m := managerOf(env, counted)
	defer m.Close()
	res, err := m.Stop(context.Background(), []string{"all"}, runtime.StopRequest{Grace: 5 * time.Second})
	if err != nil || len(res) != 3 {
		t.Fatalf("stop all: %+v, %v", res, err)
	}
	if n := counted.n.Load(); n != 0 {
		t.Errorf("the stop read records %d times after its plan, want none", n)
	}
	wantGone(t, pids...)
}

// A service stopped and started again between a stop's plan and its stop
// is stopped as it is then: the planned process is gone and the record
// names another launch, so the runner's stop answers ErrRecordMoved and
// the manager inspects the service again.
func TestAnUnsupervisedStopStopsWhatWasRelaunchedSinceItsPlan(t *testing.T) {
	env, _, _ := serveForTest(t, 2)
	proc := process.New(process.Options{})
	h0 := startPlain(t, env, proc, "s0")
	h1 := startPlain(t, env, proc, "s1")
	m := managerOf(env, proc)
	defer m.Close()
	ctx := context.Background()
	p, err := m.PlanStop(ctx, []string{"all"}, runtime.StopRequest{Grace: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := runtime.Resolve(env, "s0")
	if err != nil {
		t.Fatal(err)
	}
	if err := proc.Stop(ctx, svc, h0, runtime.StopOptions{Signal: syscall.SIGTERM, Grace: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	again := startPlain(t, env, proc, "s0")
	res, err := m.ExecuteStop(ctx, p)
	if err != nil {
		t.Fatalf("stop all: %+v, %v", res, err)
	}
	wantGone(t, again.PID, h1.PID)
}

// A stop planned while a service ran, that reaches the supervisor after
// the service crashed and as its restart begins (past the restart's check
// for a stop, before the new launch's PID file), finds the ended launch
// and nothing to signal, and says the service stopped: the new launch is
// stopped too. It was left running and, marked stopped, never restarted
// once it exited. The interleaving is made by holding the restart at that
// point until the stop has marked the service.
func TestAStopDuringARestartStopsTheNewLaunch(t *testing.T) {
	env, c, _ := serveCommandForTest(t, 1, "[sleep, \"1000\"]\n    restart: always\n    restart_backoff: {initial: 1ms}")
	r := NewRunner(process.New(process.Options{}), c)
	_, h0 := startSettled(t, env, r, "s0")
	m := managerOf(env, r)
	defer m.Close()
	ctx := context.Background()
	p, err := m.PlanStop(ctx, []string{"s0"}, runtime.StopRequest{Grace: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	held := make(chan *watch, 1)
	stopped := make(chan error, 1)
	hold := func(w *watch) {
		held <- w
		go func() {
			_, err := m.ExecuteStop(ctx, p)
			stopped <- err
		}()
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			w.s.mu.Lock()
			marked := w.stop != ""
			w.s.mu.Unlock()
			if marked {
				return
			}
		}
		t.Error("the stop did not mark the service while the restart was held")
	}
	onRelaunch.Store(&hold)
	t.Cleanup(func() { onRelaunch.Store(nil) })
	syscall.Kill(h0.PID, syscall.SIGKILL)
	var w *watch
	select {
	case w = <-held:
	case <-time.After(5 * time.Second):
		t.Fatal("s0 was not restarted")
	}
	if err := <-stopped; err != nil {
		t.Fatalf("stop: %v", err)
	}
	w.s.mu.Lock()
	h := w.cur.h
	w.s.mu.Unlock()
	if h.PID == h0.PID || h.PID == 0 {
		t.Fatalf("the launch watched after the restart: %+v (the first was PID %d)", h, h0.PID)
	}
	for deadline := time.Now().Add(5 * time.Second); syscall.Kill(h.PID, 0) == nil; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the new launch (PID %d) still runs 5 s after the service was stopped", h.PID)
		}
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		rec, _ := ReadRecord(c.Paths, "s0")
		if !rec.Wanted && rec.Stopped == "by user" && rec.PID == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("record after the stop: %+v; want stopped by user, not wanted", rec)
		}
	}
}

// A stop all by a berth of another build than the supervisor's fails
// for every service with the supervisor's VersionError, which says what to
// do (berth supervisor replace), not with the first service's alone and
// "the supervisor went away" for each of the others; nothing is stopped.
func TestAStopAllOfAnotherBuildSaysSoForEachService(t *testing.T) {
	env, c, _ := serveForTest(t, 3)
	r := NewRunner(process.New(process.Options{}), c)
	var pids []int
	for _, name := range []string{"s0", "s1", "s2"} {
		_, h := startSettled(t, env, r, name)
		pids = append(pids, h.PID)
	}
	other := &Client{Paths: c.Paths, Version: "other"}
	defer other.Close()
	m := managerOf(env, NewRunner(process.New(process.Options{}), other))
	defer m.Close()
	res, err := m.Stop(context.Background(), []string{"all"}, runtime.StopRequest{Grace: 5 * time.Second})
	if err == nil || len(res) != 3 {
		t.Fatalf("stop all of another build: %+v, %v; want 3 failures", res, err)
	}
	for _, r := range res {
		var ve *VersionError
		if !errors.As(r.Err, &ve) {
			t.Errorf("%s: %v; want the supervisor's VersionError", r.Name, r.Err)
		}
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); err != nil {
			t.Errorf("PID %d after a refused stop: %v; want it running", pid, err)
		}
	}
}

// wantGone fails t for each of pids that still names a process.
func wantGone(t *testing.T, pids ...int) {
	t.Helper()
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("PID %d after the stop: %v; want gone", pid, err)
		}
	}
}

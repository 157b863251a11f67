package supervisor

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/berthdev/berth/hack/testkit"
	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/runtime"
	"github.com/berthdev/berth/runtime/process"
)

// A new supervisor skips reading the manifest only when nothing can be
// adopted: no PID file (spares and start locks are not PID files) and no
// record of a service a supervisor watched.
func TestNothingToAdopt(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files []string
		want  bool
	}{
		{"no directory", nil, false},
		{"spares and locks", []string{".api.pid.spare", "api.lock"}, false},
		{"a PID file", []string{".api.pid.spare", "api.pid"}, true},
	} {
		dir := filepath.Join(t.TempDir(), "pids")
		if tc.files != nil {
			os.Mkdir(dir, 0o755)
		}
		for _, f := range tc.files {
			os.WriteFile(filepath.Join(dir, f), nil, 0o644)
		}
		if got := anyPIDFile(dir); got != tc.want {
			t.Errorf("%s: anyPIDFile %v, want %v", tc.name, got, tc.want)
		}
	}
	for _, tc := range []struct {
		name    string
		records map[string]string // file contents, by service
		want    bool
	}{
		{"none", nil, false},
		{"wanted, not supervised", map[string]string{"a": `{"wanted":true,"supervised":false,"gave_up":"true"}`}, false},
		{"supervised, not wanted", map[string]string{"b": `{"wanted":false,"supervised":true,"stopped":"true"}`}, false},
		{"watched", map[string]string{"a": `{"wanted":false}`, "b": `{"wanted":true,"supervised":true}`}, true},
		// What encoding/json reads as watched, however spelt.
		{"watched, spaced and capitalised", map[string]string{"c": "{ \"Wanted\" : true ,\n \"SUPERVISED\":\ttrue }"}, true},
		{"empty and broken", map[string]string{"d": "", "e": `{"wanted":true,"supervised":tr`}, false},
	} {
		p := PathsOf(t.TempDir())
		os.MkdirAll(p.Runs, 0o755)
		recs := map[string]Record{}
		for name, data := range tc.records {
			os.WriteFile(recordPath(p, name), []byte(data), 0o644)
			if r, err := ReadRecord(p, name); err == nil {
				recs[name] = r
			}
		}
		if got := AnyWatchedRecord(p); got != tc.want || anyWatched(recs) != tc.want {
			t.Errorf("%s: AnyWatchedRecord %v, anyWatched of the parsed records %v, want %v", tc.name, got, anyWatched(recs), tc.want)
		}
	}
}

// A supervisor killed while it watched a service that then ended leaves
// its record wanted and supervised, with no PID file: the next one still
// records that the service is no longer watched.
func TestNewSupervisorRecordsUnwatchedWithoutPIDFiles(t *testing.T) {
	root := t.TempDir()
	p := PathsOf(root)
	os.MkdirAll(p.Runs, 0o755)
	if err := writeRecord(p, Record{Service: "s0", Wanted: true, Supervised: true, PID: 99999}); err != nil {
		t.Fatal(err)
	}
	serveForTestAt(t, root, 1)
	r, err := ReadRecord(p, "s0")
	if err != nil {
		t.Fatal(err)
	}
	if r.Supervised || r.PID != 0 || r.LastExit == nil || !r.LastExit.Unknown {
		t.Errorf("record after a new supervisor: %+v, want unwatched with an unknown exit", r)
	}
}

// A launch that ends during its start is reported on the start's own
// request: the command's wait for its exit sends no request of its own
// (protocol 3 sent a wait, took its acknowledgement and sent a cancel for
// every service of every start).
func TestExitDuringStartComesOnTheStartsRequest(t *testing.T) {
	env, c, _ := serveCommandForTest(t, 1, `[sh, -c, "exit 3"]`)
	var mu sync.Mutex
	var ops []string
	record := func(op string) { mu.Lock(); ops = append(ops, op); mu.Unlock() }
	onRequest.Store(&record)
	t.Cleanup(func() { onRequest.Store(nil) })
	r := NewRunner(process.New(process.Options{}), c)
	svc, h := startExited(t, env, r, "s0", 3)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if again, err := r.Wait(ctx, h); err != nil || again.Code != 3 {
		t.Errorf("second wait: %+v, %v; want exit code 3", again, err)
	}
	r.Settle(svc, h, false)
	mu.Lock()
	defer mu.Unlock()
	if slices.Contains(ops, opWait) || slices.Contains(ops, opCancel) {
		t.Errorf("requests %v: the exit was asked for apart", ops)
	}
}

// A hold keeps a supervisor that watches nothing more until it is
// released, with the command's session still open (a restart between its
// stops and its start); released, the supervisor exits as any idle one.
func TestHoldKeepsTheSupervisorUntilReleased(t *testing.T) {
	env, c, _ := serveForTest(t, 1)
	r := NewRunner(process.New(process.Options{}), c)
	svc, h := startSettled(t, env, r, "s0")
	release := r.Hold()
	if err := r.Stop(context.Background(), svc, h, runtime.StopOptions{Signal: syscall.SIGTERM, Grace: time.Second, Kill: true}); err != nil {
		t.Fatal(err)
	}
	other := &Client{Paths: c.Paths, Version: "test"}
	if _, err := other.Hello(); err != nil {
		t.Fatalf("a held supervisor after its last service stopped: %v", err)
	}
	release()
	testkit.Eventually(t, 5*time.Second, func() error {
		if _, err := other.Hello(); err == nil {
			return errors.New("the supervisor still serves after the hold was released")
		}
		return nil
	})
}

// A supervisor told to exit while it records how a launch ended writes the
// record before it exits: it used to return at once, and a test's
// directory was removed while it still wrote there ("directory not empty",
// one run in ten of this package).
func TestExitRecordedBeforeTheSupervisorExits(t *testing.T) {
	root := t.TempDir()
	t.Cleanup(func() { // after the supervisor has exited (cleanups run last first)
		rec, _ := ReadRecord(PathsOf(root), "s0")
		if rec.LastExit == nil || rec.LastExit.Code != 3 {
			t.Errorf("record once the supervisor has exited: %+v; want the exit (code 3) recorded", rec)
		}
	})
	// The exit is recorded only once the supervisor is told to exit.
	entered := make(chan struct{})
	hold := func(s *Supervisor) {
		close(entered)
		<-s.done
		time.Sleep(50 * time.Millisecond)
	}
	beforeAfterExit.Store(&hold)
	t.Cleanup(func() { beforeAfterExit.Store(nil) })
	env, c, _ := serveCommandForTestAt(t, root, 1, `[sh, -c, "exit 3"]`)
	r := NewRunner(process.New(process.Options{}), c)
	svc, h := startExited(t, env, r, "s0", 3)
	r.Settle(svc, h, false)
	select {
	case <-entered: // the cleanup detaches the supervisor
	case <-time.After(10 * time.Second):
		t.Fatal("the supervisor did not begin recording the exit")
	}
}

// startExited starts the service name through r, which exits with code
// during its start, and waits for that exit; the start is not settled.
func startExited(t *testing.T, env *metadata.Env, r *Runner, name string, code int) (*runtime.Service, runtime.Handle) {
	t.Helper()
	svc, h := startOf(t, env, r, name)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if ex, err := r.Wait(ctx, h); err != nil || ex.Code != code {
		t.Fatalf("wait: %+v, %v; want exit code %d", ex, err, code)
	}
	return svc, h
}

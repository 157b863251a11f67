package process

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/runtime"
)

// A stop all signals every service before any of its stops walks /proc
// for the members outside a group: begun one visit at a time, each stop
// walked before the next was signalled (on one processor, always), and
// the signals of a stop of 100 spread over tens of milliseconds.
func TestStopAllSignalsEveryServiceBeforeAnyWalk(t *testing.T) {
	defer goruntime.GOMAXPROCS(goruntime.GOMAXPROCS(1))
	const n = 6
	root := t.TempDir()
	var y strings.Builder
	y.WriteString("version: 1\nservices:\n")
	for i := range n {
		fmt.Fprintf(&y, "  s%d:\n    command: [sleep, \"60\"]\n", i)
	}
	os.WriteFile(filepath.Join(root, "berth.yaml"), []byte(y.String()), 0o644)
	os.WriteFile(filepath.Join(root, metadata.MetadataFile), []byte("template=test\nenvironment_root="+root+"\n"), 0o644)
	env, err := metadata.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	reg := runtime.NewRegistry()
	r := New(Options{})
	reg.Register(metadata.RunnerProcess, func() (runtime.Runner, error) { return r, nil })
	m := &runtime.Manager{Env: env, Runners: reg, StartCheck: time.Millisecond}
	ctx := context.Background()
	t.Cleanup(func() { m.Stop(ctx, []string{"all"}, runtime.StopRequest{Grace: time.Second, Force: true}) })
	states, err := m.Start(ctx, []string{"all"}, runtime.StartRequest{})
	if err != nil || len(states) != n {
		t.Fatalf("start: %d running, %v", len(states), err)
	}
	var once sync.Once
	var unsignalled []string
	walkSeen = func() {
		once.Do(func() {
			for _, st := range states {
				if !signalledNow(st.PID) {
					unsignalled = append(unsignalled, st.Name)
				}
			}
		})
	}
	t.Cleanup(func() { walkSeen = nil })
	res, err := m.Stop(ctx, []string{"all"}, runtime.StopRequest{Grace: 5 * time.Second})
	if err != nil || len(res) != n {
		t.Fatalf("stop: %+v, %v", res, err)
	}
	if len(unsignalled) > 0 {
		t.Errorf("the first walk of /proc began before %v were signalled", unsignalled)
	}
	for _, st := range states {
		if alive(st.PID, 0) {
			t.Errorf("%s (PID %d) still runs after the stop", st.Name, st.PID)
		}
	}
}

// signalledNow is signalled without its wait: it looks again for a few
// milliseconds, never giving up the processor (this test runs on one),
// so that no other stop can send its signal meanwhile.
func signalledNow(pid int) bool {
	for deadline := time.Now().Add(3 * time.Millisecond); time.Now().Before(deadline); {
		if sentTERM(pid) {
			return true
		}
	}
	return false
}

// sentTERM is one look of signalled: pid has TERM pending, or is
// exiting, a zombie or gone.
func sentTERM(pid int) bool {
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	f := bytes.Fields(st[bytes.LastIndexByte(st, ')')+1:])
	flags, _ := strconv.ParseUint(string(f[6]), 10, 64)
	if string(f[0]) == "Z" || flags&0x4 != 0 { // PF_EXITING
		return true
	}
	status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, l := range bytes.Split(status, []byte("\n")) {
		if v, ok := bytes.CutPrefix(l, []byte("ShdPnd:")); ok {
			m, _ := strconv.ParseUint(string(bytes.TrimSpace(v)), 16, 64)
			if m&(1<<(syscall.SIGTERM-1)) != 0 {
				return true
			}
		}
	}
	return false
}

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

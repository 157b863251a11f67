package process

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/berthdev/berth/runtime"
)

// signalled says whether pid has been sent TERM: it is pending, or the
// process is exiting, a zombie or gone. Between the signal's delivery and
// the exit's first mark there are moments of none: it looks again, up to
// a bound a signal never sent would never meet.
func signalled(pid int) bool {
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
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
	}
	return false
}

// The group of a verified leader is signalled before the walk of /proc
// that looks for the service's processes outside it: in a stop of 100,
// that walk (and the environments read after it) held back every signal.
func TestStopSignalsTheGroupBeforeItsWalk(t *testing.T) {
	svc, h := startForeign(t, "a")
	var once sync.Once
	before := true
	walkSeen = func() { once.Do(func() { before = signalled(h.PID) }) }
	t.Cleanup(func() { walkSeen = nil })
	r := New(Options{})
	if err := r.Stop(context.Background(), svc, h, runtime.StopOptions{Signal: syscall.SIGTERM, Grace: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	if !before {
		t.Error("the stop walked /proc before it signalled the group")
	}
	if alive(h.PID, h.StartTime) {
		t.Errorf("PID %d still runs after its stop", h.PID)
	}
}

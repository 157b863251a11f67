package process

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/berthdev/berth/hack/testkit"
)

// A shared walk must never be older than the call that asks for it: a
// process started after one walk is seen by the next call, however many
// callers share walks at the same time.
func TestSharedWalkIsNeverOlderThanTheCall(t *testing.T) {
	liveProcs() // a walk is done and kept
	c := exec.Command("sleep", "60")
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Process.Kill(); c.Wait() })
	pid := c.Process.Pid
	var wg sync.WaitGroup
	found := make([]bool, 20)
	for i := range found {
		wg.Go(func() {
			found[i] = slices.ContainsFunc(liveProcs(), func(p procStat) bool { return p.PID == pid })
		})
	}
	wg.Wait()
	if slices.Contains(found, false) {
		t.Fatalf("a walk asked for after PID %d started did not see it: %v", pid, found)
	}
	// A zombie counts as gone: once the child has exited, unreaped, no
	// later walk lists it.
	c.Process.Signal(os.Kill)
	testkit.Eventually(t, 5*time.Second, func() error {
		if st, err := readStat(pid); err == nil && st.State != 'Z' {
			return fmt.Errorf("PID %d did not exit after KILL", pid)
		}
		return nil
	})
	if slices.ContainsFunc(liveProcs(), func(p procStat) bool { return p.PID == pid }) {
		t.Fatalf("the zombie %d is listed as live", pid)
	}
}

func TestReadProcFileGrowsItsBuffer(t *testing.T) {
	want, err := os.ReadFile("/proc/self/environ")
	if err != nil {
		t.Fatal(err)
	}
	got, err := readProcFile("/proc/self/environ", make([]byte, 3))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatalf("read %d bytes, want %d", len(got), len(want))
	}
	if _, err := readProcFile("/proc/0/stat", nil); !os.IsNotExist(err) {
		t.Fatalf("reading a missing file: %v, want not-exist", err)
	}
}

// The identity reads of a status (a PID's stat, its environment, a PID
// file) borrow their buffers: 200 rounds of them allocated 200 buffers of
// 1-4 KiB each before, a fresh page of heap each time.
func TestIdentityReadsReuseTheirBuffers(t *testing.T) {
	pid := os.Getpid()
	path := filepath.Join(t.TempDir(), "s.pid")
	if err := os.WriteFile(path, []byte(`{"pid":1,"pgid":1,"start_time":1}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	round := func() {
		if _, err := readStat(pid); err != nil {
			t.Fatal(err)
		}
		if _, err := launchToken(pid); err != nil {
			t.Fatal(err)
		}
		if _, err := readPIDFile(path); err != nil {
			t.Fatal(err)
		}
	}
	round()
	var before, after goruntime.MemStats
	goruntime.ReadMemStats(&before)
	for range 200 {
		round()
	}
	goruntime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > 200*4096/2 {
		t.Fatalf("200 rounds of identity reads allocated %d bytes (%d a round): each takes a fresh buffer", got, got/200)
	}
}

// BenchmarkWalk is one walk of /proc (allProcs), as the first stop of a
// stop all waits for it.
func BenchmarkWalk(b *testing.B) {
	for b.Loop() {
		allProcs()
	}
}

// A walk split between goroutines lists the processes one reading in turn
// lists: this one, a child, and no zombie.
func TestSplitWalk(t *testing.T) {
	c := exec.Command("sleep", "60")
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Process.Kill(); c.Wait() })
	defer func(n int) { walkShare = n }(walkShare)
	walkShare = 1
	procs := allProcs()
	for _, pid := range []int{os.Getpid(), c.Process.Pid} {
		if !slices.ContainsFunc(procs, func(p procStat) bool { return p.PID == pid }) {
			t.Errorf("the split walk lacks PID %d", pid)
		}
	}
	seen := map[int]bool{}
	for _, p := range procs {
		if seen[p.PID] || p.State == 'Z' {
			t.Errorf("PID %d listed twice or a zombie: %+v", p.PID, p)
		}
		seen[p.PID] = true
	}
}

package process

import (
	"os/exec"
	"runtime"
	"slices"
	"sync"
	"testing"
)

// children lists every child of this process, whichever thread forked it
// (the kernel keeps a child on the list of the thread that forked it).
func TestChildrenOfEveryThread(t *testing.T) {
	var mu sync.Mutex
	var pids []int
	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() {
			runtime.LockOSThread() // a thread of its own, left to die with the goroutine
			c := exec.Command("sleep", "60")
			if err := c.Start(); err != nil {
				t.Error(err)
				return
			}
			t.Cleanup(func() { c.Process.Kill(); c.Wait() })
			mu.Lock()
			pids = append(pids, c.Process.Pid)
			mu.Unlock()
		})
	}
	wg.Wait()
	got := children()
	for _, pid := range pids {
		if !slices.Contains(got, pid) {
			t.Errorf("children() = %v lacks %d", got, pid)
		}
	}
}

package process_test

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/berthdev/berth/runtime/process"
)

const reaperHelperVar = "BERTH_TEST_REAPER_HELPER"

// reaperHelper, run in a process of its own (a subreaper changes the
// process for every test after it), makes orphans whose parents were
// started from threads other than the first, some of which exit before
// the orphans do, and reaps them: ReapOrphans must find each one.
func reaperHelper() int {
	if err := process.BecomeSubreaper(); err != nil {
		fmt.Println(err)
		return 1
	}
	var mu sync.Mutex
	var orphans []int
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Go(func() {
			runtime.LockOSThread() // a thread of its own; every other one dies with its goroutine
			if i%2 == 1 {
				defer runtime.UnlockOSThread()
			}
			c := exec.Command("sh", "-c", "sleep 0.2 & echo $!")
			c.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // out of the reaper's session
			out, err := c.Output()
			pid, perr := strconv.Atoi(strings.TrimSpace(string(out)))
			if err != nil || perr != nil {
				fmt.Println("orphan not made:", err, perr)
				return
			}
			mu.Lock()
			orphans = append(orphans, pid)
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(orphans) != 6 {
		return 1
	}
	var reaped []int
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && len(reaped) < len(orphans); time.Sleep(10 * time.Millisecond) {
		for _, r := range process.ReapOrphans() {
			reaped = append(reaped, r.PID)
		}
	}
	for _, pid := range orphans {
		if !slices.Contains(reaped, pid) {
			fmt.Printf("orphan %d not reaped (reaped %v)\n", pid, reaped)
			return 1
		}
	}
	return 0
}

// Orphans given to the supervisor are reaped whichever of its threads
// started their parents, and whether that thread still lives: the kernel
// gives every orphan to a subreaper's first thread, whose children alone
// ReapOrphans reads.
func TestReapOrphansFindsOrphansOfEveryThread(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), reaperHelperVar+"=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("reaper helper: %v\n%s", err, out)
	}
}

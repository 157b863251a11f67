package process

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/berthdev/berth/runtime"
)

// The supervisor is a child subreaper: descendants of its services that
// outlive their parents are reparented to it, and it must reap their
// zombies. Go's os/exec waits for each child it started by its PID, so a
// wait for any child (wait4(-1)) would steal their exit statuses. berth
// reaps only the zombies it can tell no one else waits for: those not
// started through startOwned (services and log writers, waited for by
// their Cmd) and not in the reaper's own session (health check commands
// run there, waited for by os/exec).

var owned = struct {
	// gate is held for reading across each Start and for writing while
	// reaping, so that a child that exits at once is known as owned
	// before the reaper can see its zombie.
	gate sync.RWMutex
	mu   sync.Mutex
	pids map[int]bool
}{pids: map[int]bool{}}

func startOwned(cmd *exec.Cmd) error {
	owned.gate.RLock()
	defer owned.gate.RUnlock()
	if err := cmd.Start(); err != nil {
		return err
	}
	owned.mu.Lock()
	owned.pids[cmd.Process.Pid] = true
	owned.mu.Unlock()
	return nil
}

func disown(pid int) {
	owned.mu.Lock()
	delete(owned.pids, pid)
	owned.mu.Unlock()
}

// BecomeSubreaper makes this process the reaper of its orphaned descendants.
func BecomeSubreaper() error {
	return unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
}

// waitChild waits for cmd, a child this process started, without holding
// a thread: os/exec's Wait blocks one in waitid for as long as the child
// runs, so a supervisor of 100 services kept 100 threads, each created at
// a launch and woken at an exit. The wait parks on the child's pidfd in
// Go's poller and reaps it through cmd.Wait once it has exited. The PID
// stays the child's until that Wait: only its parent reaps it, and
// ReapOrphans leaves it alone (startOwned).
func waitChild(cmd *exec.Cmd) error {
	if fd, err := unix.PidfdOpen(cmd.Process.Pid, 0); err == nil {
		f := pidfdFile(fd)
		waitReadable(context.Background(), f)
		f.Close()
	}
	return cmd.Wait()
}

// Reaped is an orphan reaped by ReapOrphans.
type Reaped struct {
	PID  int
	Exit runtime.Exit
}

// ReapOrphans reaps every zombie child of this process that berth did not
// start itself and that is outside its session (see above). Call it on
// SIGCHLD.
func ReapOrphans() []Reaped {
	owned.gate.Lock()
	defer owned.gate.Unlock()
	sid, _ := unix.Getsid(0)
	var out []Reaped
	for _, pid := range orphanCandidates() {
		owned.mu.Lock()
		mine := owned.pids[pid]
		owned.mu.Unlock()
		if mine {
			continue
		}
		st, err := readStat(pid)
		if err != nil || st.State != 'Z' || st.Session == sid {
			continue
		}
		var ws unix.WaitStatus
		if got, err := unix.Wait4(pid, &ws, unix.WNOHANG, nil); err == nil && got == pid {
			ex := runtime.Exit{Code: ws.ExitStatus()}
			if ws.Signaled() {
				ex = runtime.Exit{Signal: ws.Signal()}
			}
			out = append(out, Reaped{PID: pid, Exit: ex})
		}
	}
	return out
}

// orphanCandidates lists the children of this process's first thread,
// which are where the kernel puts every orphan it gives this subreaper
// (find_new_reaper gives an orphan to the first live thread of the
// reaper's thread group, its leader, which in a Go program lives as long
// as the process): the children that other threads forked are services,
// log writers and health checks, each waited for by its starter. One file
// rather than every thread's (children): a SIGCHLD's reap read the task
// directory and 10 to 15 files, 50 system calls, several times in each
// stop all.
func orphanCandidates() []int {
	buf, done := readBuf()
	defer done()
	data, err := readProcFile("/proc/self/task/"+strconv.Itoa(os.Getpid())+"/children", buf[:])
	if err != nil {
		return children()
	}
	var out []int
	for _, f := range strings.Fields(string(data)) {
		if pid, err := strconv.Atoi(f); err == nil {
			out = append(out, pid)
		}
	}
	return out
}

// children lists this process's children from /proc/self/task/*/children.
// The task directory is read once and each thread's children file opened
// by name: filepath.Glob read every thread's directory to match the name
// "children", which makes the kernel build an entry for each of its ~50
// files, thread by thread, at every reap.
func children() []int {
	d, err := os.Open("/proc/self/task")
	if err != nil {
		return nil
	}
	tids, _ := d.Readdirnames(-1)
	d.Close()
	var out []int
	buf, done := readBuf()
	defer done()
	for _, tid := range tids {
		data, err := readProcFile("/proc/self/task/"+tid+"/children", buf[:])
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(data)) {
			if pid, err := strconv.Atoi(f); err == nil {
				out = append(out, pid)
			}
		}
	}
	return out
}

// WaitExit returns when pid, started at startTime (0: any), has ended, or
// with ctx's error when ctx is done first. It blocks on a pidfd and an
// eventfd that ctx's end writes, with no timeout: a supervisor watching a
// process it did not start (adopted after a restart of the supervisor)
// wakes only when something happens.
func WaitExit(ctx context.Context, pid int, startTime uint64) error {
	pfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		if errors.Is(err, unix.ESRCH) {
			return nil
		}
		return waitGone(ctx, pid, startTime)
	}
	defer unix.Close(pfd)
	if !alive(pid, startTime) {
		return nil
	}
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
	if err != nil {
		return waitGone(ctx, pid, startTime)
	}
	defer unix.Close(efd)
	stop := context.AfterFunc(ctx, func() {
		unix.Write(efd, []byte{1, 0, 0, 0, 0, 0, 0, 0})
	})
	defer stop()
	fds := []unix.PollFd{{Fd: int32(pfd), Events: unix.POLLIN}, {Fd: int32(efd), Events: unix.POLLIN}}
	for {
		_, err := unix.Poll(fds, -1)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return waitGone(ctx, pid, startTime)
		}
		if fds[0].Revents != 0 {
			return nil
		}
		if fds[1].Revents != 0 {
			return ctx.Err()
		}
	}
}

// Release forgets the exit of a child this runner launched once its one
// waiter has it, so a long-lived runner (the supervisor) keeps nothing
// per past launch.
func (r *Runner) Release(pid int) { r.forgetChild(pid) }

package process

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"

	"github.com/berthdev/berth/internal/parts"
)

// procStat is what berth needs from /proc/<pid>/stat.
type procStat struct {
	PID       int
	State     byte
	PPID      int
	PGID      int
	Session   int
	StartTime uint64 // clock ticks since boot, field 22
}

// readStat parses /proc/<pid>/stat. The command name (field 2) may hold
// spaces and parentheses, so fields are counted after its last ')'.
func readStat(pid int) (procStat, error) {
	buf, done := readBuf()
	defer done()
	data, err := readProcFile("/proc/"+strconv.Itoa(pid)+"/stat", buf[:])
	if err != nil {
		return procStat{}, err
	}
	st, err := parseStat(data)
	st.PID = pid
	return st, err
}

func parseStat(data []byte) (procStat, error) {
	i := bytes.LastIndexByte(data, ')')
	if i < 0 || i+2 >= len(data) {
		return procStat{}, fmt.Errorf("malformed /proc stat line")
	}
	var fields [20][]byte
	f := statFields(data[i+1:], &fields)
	// f[0] is field 3 (state); field N is f[N-3].
	if len(f) < 20 || len(f[0]) != 1 {
		return procStat{}, fmt.Errorf("malformed /proc stat line")
	}
	ppid, err0 := strconv.Atoi(string(f[1]))
	pgid, err1 := strconv.Atoi(string(f[2]))
	sid, err3 := strconv.Atoi(string(f[3]))
	start, err2 := strconv.ParseUint(string(f[19]), 10, 64)
	if err0 != nil || err1 != nil || err2 != nil || err3 != nil {
		return procStat{}, fmt.Errorf("malformed /proc stat line")
	}
	return procStat{State: f[0][0], PPID: ppid, PGID: pgid, Session: sid, StartTime: start}, nil
}

// statFields splits the fields after the command name into dst, the first
// 20 only: the same fields as bytes.Fields, without allocating 52 of them
// for every process a status looks at.
func statFields(tail []byte, dst *[20][]byte) [][]byte {
	n := 0
	for i := 0; i < len(tail) && n < len(dst); {
		c := tail[i]
		if c >= utf8.RuneSelf {
			// Unicode spaces: leave them to bytes.Fields.
			return bytes.Fields(tail)
		}
		if asciiSpace(c) {
			i++
			continue
		}
		j := i
		for j < len(tail) && tail[j] < utf8.RuneSelf && !asciiSpace(tail[j]) {
			j++
		}
		if j < len(tail) && tail[j] >= utf8.RuneSelf {
			return bytes.Fields(tail)
		}
		dst[n] = tail[i:j]
		n++
		i = j
	}
	return dst[:n]
}

func asciiSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// clockTicks is USER_HZ, 100 on every Linux architecture Go supports.
const clockTicks = 100

// bootTime is read once: it is the same for every process.
var bootTime = sync.OnceValue(func() time.Time {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return time.Time{}
	}
	for _, line := range bytes.Split(data, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("btime ")); ok {
			n, _ := strconv.ParseInt(string(bytes.TrimSpace(v)), 10, 64)
			return time.Unix(n, 0)
		}
	}
	return time.Time{}
})

// startedAt converts a start time in ticks to wall time.
func startedAt(ticks uint64) time.Time {
	return bootTime().Add(time.Duration(ticks) * time.Second / clockTicks)
}

// alive says whether pid is a live (not zombie) process with the given start
// time; startTime 0 accepts any.
func alive(pid int, startTime uint64) bool {
	if pid <= 0 {
		return false
	}
	st, err := readStat(pid)
	if err != nil {
		return false
	}
	if st.State == 'Z' || st.State == 'X' {
		return false
	}
	return startTime == 0 || st.StartTime == startTime
}

// groupAlive says whether any process is left in process group pgid.
func groupAlive(pgid int) bool {
	if pgid <= 1 {
		return false
	}
	err := unix.Kill(-pgid, 0)
	return err == nil || errors.Is(err, unix.EPERM)
}

// pollInterval bounds how late berth notices an exit when it cannot use pidfd.
const pollInterval = 10 * time.Millisecond

// waitGone returns when pid (with startTime) is gone, or ctx is done. It waits
// on a pidfd where the kernel offers one and polls otherwise.
func waitGone(ctx context.Context, pid int, startTime uint64) error {
	fd, err := unix.PidfdOpen(pid, 0)
	if errors.Is(err, unix.ESRCH) {
		// No process has the PID (not even a zombie): the one meant is
		// gone. A stop's wait for a service the supervisor has reaped
		// ends here, without a ticker and a read of /proc.
		return nil
	}
	if err == nil {
		f := pidfdFile(fd)
		defer f.Close()
		// The pidfd pins this process; check it is still the one we mean.
		if !alive(pid, startTime) {
			return nil
		}
		err := waitReadable(ctx, f)
		if err == nil || ctx.Err() != nil {
			return err
		}
	}
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for alive(pid, startTime) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

// pidfdFile gives a pidfd to Go's poller, so that a wait on it parks a
// goroutine rather than a thread: a stop of 100 services waits on 100
// pidfds at once.
func pidfdFile(fd int) *os.File {
	unix.SetNonblock(fd, true)
	return os.NewFile(uintptr(fd), "pidfd")
}

// waitReadable returns nil once the pidfd f is readable (its process has
// exited), ctx's error when ctx ends first, or another error when f cannot
// be waited on through the poller.
func waitReadable(ctx context.Context, f *os.File) error {
	if err := f.SetReadDeadline(time.Time{}); err != nil {
		return err // not pollable here
	}
	stop := context.AfterFunc(ctx, func() { f.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	err = rc.Read(func(fd uintptr) bool {
		n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 0)
		return n > 0 || (err != nil && !errors.Is(err, unix.EINTR))
	})
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// liveMembers lists the processes of group pgid that are not zombies. An
// orphan's zombie stays in its group until PID 1 reaps it, which some
// container inits do only now and then (this machine's, every two
// seconds), so kill(-pgid, 0) alone would keep a stop waiting on
// processes that are already dead. The walk asks each process its group
// (getpgid, one system call) and reads the stat only of the group's
// members, to leave out the zombies: reading every process's stat, as
// before, made the stops of 100 services that an init had not reaped
// yet take turns at walks that were a fifth of the stop's CPU.
func liveMembers(pgid int) []procStat {
	var out []procStat
	for _, p := range groups.since(time.Now()) {
		if p.PGID != pgid {
			continue
		}
		if st, err := readStat(p.PID); err == nil && st.PGID == pgid && st.State != 'Z' && st.State != 'X' {
			out = append(out, st)
		}
	}
	return out
}

// groupProcs lists every process with its group alone (PID and PGID),
// zombies included: a walk of /proc that asks the kernel each process's
// group instead of reading its stat.
func groupProcs() []procStat {
	pids := procPIDs()
	out := make([]procStat, 0, len(pids))
	for _, pid := range pids {
		if pgid, err := unix.Getpgid(pid); err == nil {
			out = append(out, procStat{PID: pid, PGID: pgid})
		}
	}
	return out
}

// procPIDs lists the processes of /proc.
func procPIDs() []int {
	d, err := os.Open("/proc")
	if err != nil {
		return nil
	}
	names, _ := d.Readdirnames(-1)
	d.Close()
	pids := make([]int, 0, len(names))
	for _, n := range names {
		if n[0] < '0' || n[0] > '9' {
			continue
		}
		if pid, err := strconv.Atoi(n); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// allProcs reads the stat of every live (not zombie) process once. The
// reads are split between the processors: a walk is one open, read and
// close per process of the machine, and the first stop of a stop all waits
// for it before anything is signalled.
func allProcs() []procStat {
	if walkSeen != nil {
		walkSeen()
	}
	pids := procPIDs()
	outs := make([][]procStat, parts.Count(len(pids), walkShare))
	parts.Run(len(pids), walkShare, func(i, lo, hi int) {
		outs[i] = statAll(pids[lo:hi], make([]procStat, 0, hi-lo))
	})
	return slices.Concat(outs...)
}

// walkSeen, when a test sets it, is told of each walk of every process's
// stat (allProcs).
var walkSeen func()

// walkShare is the fewest processes worth a goroutine of a walk.
var walkShare = 64

// statAll appends the stat of each live (not zombie) process of pids.
func statAll(pids []int, out []procStat) []procStat {
	for _, pid := range pids {
		st, err := readStat(pid)
		if err != nil || st.State == 'Z' || st.State == 'X' {
			continue
		}
		st.PID = pid
		out = append(out, st)
	}
	return out
}

// waitGroupGone returns when no live process is left in group pgid, or ctx
// is done. It waits on each member found rather than polling the group.
// A group that still holds a process once its members are gone needs a
// walk of /proc to tell a zombie from a member it did not know (groups
// spaces those walks).
func waitGroupGone(ctx context.Context, pgid int) error {
	for groupAlive(pgid) {
		members := liveMembers(pgid)
		if len(members) == 0 {
			return nil
		}
		for _, m := range members {
			if err := waitGone(ctx, m.PID, m.StartTime); err != nil {
				return err
			}
		}
	}
	return nil
}

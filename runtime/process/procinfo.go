package process

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// What berth reads of a process beyond its stat line: owner, environment,
// command line and working directory. Each read names one PID; nothing
// here walks /proc.

func procDir(pid int) string { return "/proc/" + strconv.Itoa(pid) }

// procUID is the owner of the process, as /proc shows it.
func procUID(pid int) (int, bool) {
	var st unix.Stat_t
	if err := unix.Stat(procDir(pid), &st); err != nil {
		return 0, false
	}
	return int(st.Uid), true
}

// launchVar carries a berth launch's token into the service's environment;
// its descendants inherit it, so it finds them even when they leave the
// service's process group.
const launchVar = "BERTH_LAUNCH"

// environRead, when a test sets it, is told of each environment
// launchToken and recordedToken read.
var environRead func(pid int)

// launchToken reads BERTH_LAUNCH from the environment the process started
// with; "" when it has none.
func launchToken(pid int) (string, error) {
	if environRead != nil {
		environRead(pid)
	}
	buf, done := readBuf()
	defer done()
	data, err := readProcFile(procDir(pid)+"/environ", buf[:])
	if err != nil {
		return "", err
	}
	return tokenIn(data), nil
}

// tokenIn finds BERTH_LAUNCH in an environment as /proc shows it.
func tokenIn(environ []byte) string {
	prefix := []byte(launchVar + "=")
	for kv := range bytes.SplitSeq(environ, []byte{0}) {
		if v, ok := bytes.CutPrefix(kv, prefix); ok {
			return string(v)
		}
	}
	return ""
}

// execSettle bounds how long berth reads again the empty environment or
// arguments of a recorded process. From the moment execve replaces a
// process's memory until the kernel has laid out the new program's
// arguments and environment, /proc/<pid>/environ and cmdline read empty:
// tens of microseconds, a few milliseconds on a loaded machine, and its
// parent may already have gone on (a vfork's release and the close of the
// close-on-exec descriptors come before). A service caught there (just
// launched, or a wrapper script exec'ing its program) is still the
// service; past the bound it is not trusted (nothing is signalled).
const (
	execSettle = time.Second
	execPoll   = 100 * time.Microsecond
)

// recordedToken reads the launch token of the process a record names, as
// launchToken does, but reads an empty environment again (settled). A
// process without the token shows an environment, just not the token,
// and is answered at once.
func recordedToken(pid int, startTime uint64) (string, error) {
	if environRead != nil {
		environRead(pid)
	}
	buf, done := readBuf()
	defer done()
	data, err := settled(pid, startTime, "environ", buf[:])
	return tokenIn(data), err
}

// recordedCmdline is the argv of the process pid started at startTime,
// read again while it reads empty (settled).
func recordedCmdline(pid int, startTime uint64) []string {
	buf, done := readBuf()
	defer done()
	data, err := settled(pid, startTime, "cmdline", buf[:])
	if err != nil || len(data) == 0 {
		return nil
	}
	return strings.Split(string(bytes.TrimRight(data, "\x00")), "\x00")
}

// settled reads /proc/<pid>/<name>, again every execPoll under execSettle
// while it reads empty and pid is still the process started at startTime
// (execSettle says why).
func settled(pid int, startTime uint64, name string, buf []byte) ([]byte, error) {
	deadline := time.Now().Add(execSettle)
	for {
		data, err := readProcFile(procDir(pid)+"/"+name, buf)
		if err != nil {
			return nil, err
		}
		if len(data) > 0 || !time.Now().Before(deadline) || !alive(pid, startTime) {
			return data, nil
		}
		time.Sleep(execPoll)
	}
}

func cmdline(pid int) []string {
	buf, done := readBuf()
	defer done()
	data, err := readProcFile(procDir(pid)+"/cmdline", buf[:])
	if err != nil || len(data) == 0 {
		return nil
	}
	return strings.Split(string(bytes.TrimRight(data, "\x00")), "\x00")
}

func procCwd(pid int) string {
	p, _ := os.Readlink(procDir(pid) + "/cwd")
	return p
}

// describeProc names a process for messages: "PID 12 (testsvc --fork)".
func describeProc(pid int) string {
	cmd := strings.Join(cmdline(pid), " ")
	if len(cmd) > 60 {
		cmd = cmd[:60] + "..."
	}
	if cmd == "" {
		return "PID " + strconv.Itoa(pid)
	}
	return "PID " + strconv.Itoa(pid) + " (" + cmd + ")"
}

func describeAll(ps []procStat) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = describeProc(p.PID)
	}
	return out
}

// sameDir says whether two paths name one directory.
func sameDir(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	if filepath.Clean(a) == filepath.Clean(b) {
		return true
	}
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}

// Cmdline reads the command line of pid for a check of what it runs.
// While execve lays out a new program, and once an exiting process has
// released its memory, /proc/<pid>/cmdline reads empty: an empty read is
// read again (every execPoll, under execSettle) while pid is still the
// same process, not taken for a process that runs nothing. live is false
// when pid is gone or a zombie (its command line no longer matters);
// args is nil past the bound.
func Cmdline(pid int) (args []string, live bool) {
	st, err := readStat(pid)
	if err != nil || st.State == 'Z' || st.State == 'X' {
		return nil, false
	}
	deadline := time.Now().Add(execSettle)
	for {
		args := cmdline(pid)
		if !alive(pid, st.StartTime) {
			return nil, false
		}
		if len(args) > 0 || !time.Now().Before(deadline) {
			return args, true
		}
		time.Sleep(execPoll)
	}
}

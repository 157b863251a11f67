// Package process runs services as host processes: each in its own session
// and process group, recorded in a PID file with its process group and
// kernel start time, stopped by signalling the whole group and waiting on
// the exit through a pidfd.
package process

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/runtime"
	"github.com/berthdev/berth/runtime/logs"
)

// A service's PID file is written before the service runs, so no berth
// killed at any instant leaves a running service without one: first a
// pending record holding the environment and the launch token the service
// will carry (BERTH_LAUNCH, inherited by all it starts), then the service
// is executed directly, then the record is completed with its PID, group
// and start time. A launch cut short between the two writes leaves a
// pending record, by whose token status finds the service and stop stops
// it. (berth used to hold each launch in a /bin/sh gate until the PID was
// written: a dynamically linked shell exec'd per service.)

// Options configure a Runner.
type Options struct {
	// LogPipe is the argv of the log writer program (berth internal logpipe);
	// the runner appends --path, --max-size and --max-files. Without it a
	// file log is appended to directly and rotated only at start.
	LogPipe []string
}

// Runner is the host-process runner.
type Runner struct {
	opts     Options
	mu       sync.Mutex
	children map[int]*child
	scanAt   time.Time
	scanned  *scanned
	scanning chan struct{} // closed when the walk or token reads under way end
	known    map[int]knownLeader
}

// child is a process this berth launched, so its exit status is known.
type child struct {
	// token is the launch token it was started with.
	token string
	done  chan struct{}
	exit  runtime.Exit
	// logDone, when the service logs through a log writer, is closed when
	// the writer has written everything and ended.
	logDone <-chan struct{}
}

// logDrainLimit bounds the wait for a log writer after its service ended:
// a descendant still holding the pipe keeps the writer running.
const logDrainLimit = 2 * time.Second

// New returns a process runner.
func New(opts Options) *Runner {
	return &Runner{opts: opts, children: map[int]*child{}}
}

var _ runtime.Runner = (*Runner)(nil)

// lookPath finds argv0 through the service's own PATH.
func lookPath(svc *runtime.Service) (string, error) {
	if len(svc.Argv) == 0 {
		return "", fmt.Errorf("service %s has no command", svc.Name)
	}
	name := svc.Argv[0]
	if strings.Contains(name, "/") {
		if !filepath.IsAbs(name) {
			name = filepath.Join(svc.Dir, name)
		}
		if err := executable(name); err != nil {
			return "", fmt.Errorf("service %s: command %s: %w", svc.Name, name, err)
		}
		return name, nil
	}
	path := os.Getenv("PATH")
	for _, kv := range svc.Env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		if !filepath.IsAbs(p) {
			p = filepath.Join(svc.Dir, p)
		}
		if executable(p) == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("service %s: command %q not found in PATH: install it or give its full path in berth.yaml", svc.Name, name)
}

func executable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return errors.New("not an executable file")
	}
	return nil
}

// output opens the service's stdout/stderr destination. For a file with a
// log pipe, the pipe's writer process is started here; the channel is
// closed when it has ended.
func (r *Runner) output(svc *runtime.Service) (*os.File, <-chan struct{}, error) {
	if svc.Log.To != metadata.LogFile {
		f, err := nullOut()
		return f, nil, err
	}
	if err := os.MkdirAll(filepath.Dir(svc.Log.Path), 0o755); err != nil {
		return nil, nil, fmt.Errorf("log directory of %s: %w", svc.Name, err)
	}
	if len(r.opts.LogPipe) == 0 {
		if err := Rotate(svc.Log.Path, svc.Log.MaxSize, svc.Log.MaxFiles, 0); err != nil {
			return nil, nil, err
		}
		f, err := os.OpenFile(svc.Log.Path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		return f, nil, err
	}
	// The file is there from the launch, before the log writer (a
	// process of its own, scheduled when the machine allows) has copied
	// a line: `berth logs` right after a start shows what there is
	// rather than "no log file yet".
	f, err := os.OpenFile(svc.Log.Path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, nil, err
	}
	f.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	defer pr.Close()
	args := append(append([]string(nil), r.opts.LogPipe[1:]...), "--path", svc.Log.Path,
		"--max-size", strconv.FormatInt(svc.Log.MaxSize, 10), "--max-files", strconv.Itoa(svc.Log.MaxFiles))
	lp := exec.Command(r.opts.LogPipe[0], args...)
	lp.Stdin = pr
	lp.Dir = svc.Dir
	lp.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := startOwned(lp); err != nil {
		pw.Close()
		return nil, nil, fmt.Errorf("start log writer of %s: %w", svc.Name, err)
	}
	done := make(chan struct{})
	go func() {
		waitChild(lp) // it ends at EOF, once the service and its children are gone
		disown(lp.Process.Pid)
		close(done)
	}()
	return pw, done, nil
}

// launch writes svc's pending record, starts it and completes the record.
// A service whose recorded launch still runs is refused: a second launch
// would overwrite its PID file and leave the first beyond berth's reach.
// logFrom is where this launch's captured output begins in its log file.
func (r *Runner) launch(svc *runtime.Service, cmd *exec.Cmd, logDone <-chan struct{}, logFrom int64) (runtime.Handle, *child, error) {
	if rec, err := readPIDFile(pidPath(svc)); err == nil {
		if v := verify(svc, rec.Handle); v.warning == "" && (v.leader || len(v.survivors) > 0) {
			return runtime.Handle{}, nil, &runtime.AlreadyRunningError{Service: svc.Name, PID: rec.Handle.PID}
		}
	}
	path, err := lookPath(svc)
	if err != nil {
		return runtime.Handle{}, nil, err
	}
	childDefaults()
	if err := checkGarbage(svc); err != nil {
		return runtime.Handle{}, nil, fmt.Errorf("service %s: %w", svc.Name, err)
	}
	token, err := newToken(svc)
	if err != nil {
		return runtime.Handle{}, nil, fmt.Errorf("service %s: %w", svc.Name, err)
	}
	h := runtime.Handle{Service: svc.Name, Runner: metadata.RunnerProcess,
		StartedAt: time.Now().UTC().Truncate(time.Millisecond), Env: envRoot(svc), Token: token, LogFrom: logFrom}
	if err := writePendingPIDFile(pidPath(svc), h); err != nil {
		return runtime.Handle{}, nil, fmt.Errorf("service %s: %w", svc.Name, err)
	}
	cmd.Path = path
	cmd.Args = append([]string{svc.Argv[0]}, svc.Argv[1:]...)
	cmd.Env = append(slices.DeleteFunc(slices.Clone(svc.Env), func(kv string) bool {
		return strings.HasPrefix(kv, launchVar+"=")
	}), launchVar+"="+token)
	cmd.Dir = svc.Dir
	if err := startOwned(cmd); err != nil {
		removePIDFile(pidPath(svc), h)
		return runtime.Handle{}, nil, fmt.Errorf("service %s: %w", svc.Name, err)
	}
	// Its start time is read before the wait below can reap it: a
	// service that has already exited is a zombie until then, and keeps
	// its /proc entry.
	pending := h
	h.PID, h.PGID = cmd.Process.Pid, cmd.Process.Pid
	st, err := readStat(h.PID)
	c := &child{token: token, done: make(chan struct{}), logDone: logDone}
	r.mu.Lock()
	r.children[cmd.Process.Pid] = c
	r.mu.Unlock()
	go func() {
		waitChild(cmd)
		disown(cmd.Process.Pid)
		c.exit = exitOf(cmd.ProcessState)
		close(c.done)
	}()
	if err == nil {
		h.StartTime, h.PGID = st.StartTime, st.PGID
		err = completePIDFile(pidPath(svc), h)
	}
	if err != nil {
		// The service cannot be recorded: it is ended, as the gate used
		// to keep it from running, and so is its pending record.
		cmd.Process.Kill()
		<-c.done
		removePIDFile(pidPath(svc), pending)
		return h, c, fmt.Errorf("service %s: record PID %d: %w", svc.Name, h.PID, err)
	}
	return h, c, nil
}

// nullIn and nullOut are /dev/null opened once per process, for reading
// (a service's stdin) and for writing (the output of a service whose log
// is discarded), and never closed: a launch only hands them to the
// child, which gets its own copies. Opened per launch, as before, each
// cost seven system calls (os.File offers a file to the poller and sets
// it back to blocking for exec), fourteen of a launch's seventy-eight in
// a supervisor.
var (
	nullIn  = sync.OnceValues(func() (*os.File, error) { return os.Open(os.DevNull) })
	nullOut = sync.OnceValues(func() (*os.File, error) { return os.OpenFile(os.DevNull, os.O_WRONLY, 0) })
)

// isNull says whether f is the shared nullOut, which is never closed.
func isNull(f *os.File) bool {
	n, err := nullOut()
	return err == nil && f == n
}

func exitOf(ps *os.ProcessState) runtime.Exit {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return runtime.Exit{Signal: ws.Signal()}
	}
	return runtime.Exit{Code: ps.ExitCode()}
}

// Start launches svc detached: its own session, stdin from /dev/null,
// stdout and stderr to its log destination, and no descriptor that berth
// inherited.
func (r *Runner) Start(_ context.Context, svc *runtime.Service) (runtime.Handle, error) {
	cloexecInherited()
	stdin, err := nullIn()
	if err != nil {
		return runtime.Handle{}, err
	}
	out, logDone, err := r.output(svc)
	if err != nil {
		return runtime.Handle{}, err
	}
	if !isNull(out) {
		defer out.Close()
	}
	cmd := &exec.Cmd{Stdin: stdin, Stdout: out, Stderr: out,
		SysProcAttr: &syscall.SysProcAttr{Setsid: true}}
	h, _, err := r.launch(svc, cmd, logDone, logSize(svc.Log))
	return h, err
}

// Run launches svc attached to stdio in its own process group; signals on
// stdio.Signals go to that group.
func (r *Runner) Run(_ context.Context, svc *runtime.Service, stdio runtime.Stdio, launched func(runtime.Handle)) (runtime.Exit, error) {
	cmd := &exec.Cmd{Stdin: stdio.Stdin, Stdout: stdio.Stdout, Stderr: stdio.Stderr,
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true}}
	// A service debugged in the foreground may read the terminal (a
	// debugger's prompt): its process group becomes the terminal's
	// foreground group while it runs, so it is not stopped by SIGTTIN and
	// Ctrl-C reaches it straight from the terminal. berth takes the terminal
	// back when it ends.
	if tty, ok := foregroundTerminal(stdio.Stdin); ok {
		cmd.SysProcAttr.Foreground, cmd.SysProcAttr.Ctty = true, 0
		defer reclaimTerminal(tty)
	}
	h, c, err := r.launch(svc, cmd, nil, 0)
	if err != nil {
		if c != nil {
			<-c.done
		}
		return runtime.Exit{}, err
	}
	if launched != nil {
		launched(h)
	}
	for {
		select {
		case sig := <-stdio.Signals:
			if s, ok := sig.(syscall.Signal); ok {
				sendGroup(h.PGID, s, nil)
			}
		case <-c.done:
			r.forgetChild(h.PID)
			return c.exit, removePIDFile(pidPath(svc), h)
		}
	}
}

func (r *Runner) forgetChild(pid int) {
	r.mu.Lock()
	delete(r.children, pid)
	r.mu.Unlock()
}

// Wait returns when the process of h ends. For a process this berth started
// the exit status is known, and its log writer has written its last lines
// (within logDrainLimit) when Wait returns; for another only that it ended.
func (r *Runner) Wait(ctx context.Context, h runtime.Handle) (runtime.Exit, error) {
	r.mu.Lock()
	c := r.children[h.PID]
	r.mu.Unlock()
	if c != nil {
		select {
		case <-c.done:
		case <-ctx.Done():
			return runtime.Exit{}, ctx.Err()
		}
		if c.logDone != nil {
			t := time.NewTimer(logDrainLimit)
			defer t.Stop()
			select {
			case <-c.logDone:
			case <-t.C:
			case <-ctx.Done():
			}
		}
		return c.exit, nil
	}
	if err := waitGone(ctx, h.PID, h.StartTime); err != nil {
		return runtime.Exit{}, err
	}
	return runtime.Exit{Unknown: true}, nil
}

// Logs opens the service's log: the application's own log (app_log) if it
// has one, else, or with opts.Output, the output berth keeps (log: {to:
// file}), with their rotated files. A file not written yet is an error
// naming it unless opts.Follow waits for it.
func (r *Runner) Logs(ctx context.Context, svc *runtime.Service, opts runtime.LogOptions) (io.ReadCloser, error) {
	path, err := logFile(svc, opts.Output)
	if err != nil {
		return nil, err
	}
	if !opts.Follow {
		if files, err := logs.Files(path); err != nil {
			return nil, err
		} else if len(files) == 0 {
			return nil, fmt.Errorf("%w at %s yet (the service has written nothing)", logs.ErrNoLog, path)
		}
	}
	lo := logs.Options{Tail: opts.Tail, Since: opts.Since, Follow: opts.Follow, Unfiltered: opts.Unfiltered}
	if opts.Launch != nil && path == svc.Log.Path {
		lo.From = opts.Launch.LogFrom
	}
	return logs.Open(ctx, []logs.Source{{Name: svc.Name, Path: path}}, lo), nil
}

// logSize is the size of a service's captured output file now (0 if there
// is none): where the next launch's lines begin.
func logSize(l runtime.LogSpec) int64 {
	if l.To != metadata.LogFile || l.Path == "" {
		return 0
	}
	fi, err := os.Stat(l.Path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// logFile is the file Logs reads. The application's log is preferred,
// because that is where an application that configures its own logging
// (the OQTOPUS backend's services) writes; output asks for the captured
// output.
func logFile(svc *runtime.Service, output bool) (string, error) {
	captured := svc.Log.To == metadata.LogFile
	switch {
	case output && captured:
		return svc.Log.Path, nil
	case output:
		return "", fmt.Errorf("the output of service %s is not kept (log.to is discard): add `log: {to: file}` to services.%s in berth.yaml, then restart it", svc.Name, svc.Name)
	case svc.Log.AppLog != "":
		return svc.Log.AppLog, nil
	case captured:
		return svc.Log.Path, nil
	}
	return "", fmt.Errorf("service %s has no log file: add `log: {to: file}` (its output then goes to %s) or `app_log: PATH` to services.%s in berth.yaml, or run it in the foreground with `berth start %s --foreground`",
		svc.Name, metadata.DefaultLogPath(svc.Name), svc.Name, svc.Name)
}

// ForegroundSignals are the signals a foreground berth forwards to its service.
var ForegroundSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP}

// NotifyForeground starts relaying ForegroundSignals to the returned channel;
// stop ends it.
func NotifyForeground() (ch <-chan os.Signal, stop func()) {
	c := make(chan os.Signal, 4)
	signal.Notify(c, ForegroundSignals...)
	return c, func() { signal.Stop(c) }
}

// foregroundTerminal reports whether f is a terminal whose foreground
// process group is berth's own, so berth may hand it to a service.
func foregroundTerminal(f *os.File) (int, bool) {
	if f == nil {
		return 0, false
	}
	fd := int(f.Fd())
	pgrp, err := unix.IoctlGetInt(fd, unix.TIOCGPGRP)
	if err != nil || pgrp != unix.Getpgrp() {
		return 0, false
	}
	return fd, true
}

// reclaimTerminal makes berth's process group the terminal's foreground
// group again. berth is a background process at that moment, so SIGTTOU,
// which would stop it, is ignored for the call.
func reclaimTerminal(fd int) {
	signal.Ignore(syscall.SIGTTOU)
	defer signal.Reset(syscall.SIGTTOU)
	unix.IoctlSetPointerInt(fd, unix.TIOCSPGRP, unix.Getpgrp())
}

// Capabilities says what the runner can do beyond the Runner contract.
func (r *Runner) Capabilities() runtime.Capabilities {
	return runtime.Capabilities{Foreground: true, StopWithoutKill: true, LocalInspect: true}
}

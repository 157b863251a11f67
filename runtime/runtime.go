// Package runtime owns the service lifecycle, written once above the Runner
// interface: which services a command touches and in which order, the start
// lock, the start check, stop with a grace period, restart and status.
// Runners (runtime/process, runtime/container, compose) only launch, signal
// and inspect one service at a time.
package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/berthdev/berth/metadata"
)

// Service is a manifest service resolved against its environment: variables
// expanded, environment assembled, paths made absolute. It is what a Runner
// receives; runners never read the manifest themselves.
type Service struct {
	Name   string
	Runner string
	// Argv is the command with every ${VAR} expanded.
	Argv []string
	// Env is the complete environment (KEY=VALUE), already without unset_env.
	Env []string
	// Dir is the absolute working directory.
	Dir        string
	StopSignal syscall.Signal
	StopGrace  time.Duration
	Log        LogSpec
	// StateDir is where runners keep per-service records (the pids/ directory).
	StateDir string
	// Root is the environment's root directory: a process runner records
	// its identity with each launch and recognises a plain (OQTOPUS) PID
	// file's process by working there.
	Root string
	// CommandOf, when Argv is not resolved (status and stop need no
	// component installed), expands the service's command on demand; a
	// runner asks for it only to recognise a process a plain PID file names.
	CommandOf func() ([]string, error)
	// Host is the manifest host the service is placed on; empty for this
	// machine.
	Host string
	// Container, Compose and Swarm are what the runner of that name needs
	// beyond the command (a container's ports, volumes and user with their
	// variables expanded); each is nil for the other runners.
	Container *metadata.ContainerSpec
	Compose   *metadata.ComposeSpec
	Swarm     *metadata.SwarmSpec
	// Remote is where a remote service answers; nil for the others.
	Remote *metadata.RemoteSpec
	// Environment is the environment's name: containers are named
	// <Environment>-<Name> and compose projects <Environment>.
	Environment string
	// OwnEnv is config/.env plus the manifest's env (KEY=VALUE), without
	// berth's own environment: what a container receives.
	OwnEnv []string
}

// LogSpec is where a detached service's stdout and stderr go.
type LogSpec struct {
	// To is "discard" or "file".
	To string
	// Path is absolute; set when To is "file".
	Path     string
	MaxSize  int64
	MaxFiles int
	// AppLog is the absolute path of the application's own log file
	// (app_log in berth.yaml), if it has one.
	AppLog string
}

// LogOptions selects what Logs returns.
type LogOptions struct {
	Follow bool
	// Tail is how many of the last lines; negative means all.
	Tail int
	// Since drops lines older than this time, where their time is known.
	Since time.Time
	// Unfiltered, if set, is told each log file whose lines Since could not
	// filter because they carry no time (a runner without LogLineTimes).
	Unfiltered func(path string)
	// Output asks for the service's captured output where a runner keeps
	// another log too (a host process's app_log is preferred otherwise).
	Output bool
	// Launch, if set, keeps to what the launch of this handle wrote: a
	// host process's captured output from where its launch found the file
	// (Handle.LogFrom). Runners that keep one log per launch (a container
	// is made anew by each start) have nothing to leave out.
	Launch *Handle
}

// Handle is what lets a later, separate berth process find a launched service
// again. It is serialisable; a process runner fills PID, PGID and StartTime,
// a container runner ID.
type Handle struct {
	Service string `json:"service"`
	Runner  string `json:"runner"`
	PID     int    `json:"pid,omitempty"`
	PGID    int    `json:"pgid,omitempty"`
	// StartTime is the kernel's start time of PID in clock ticks since boot
	// (/proc/<pid>/stat field 22); a PID whose start time differs is a reused PID.
	StartTime uint64    `json:"start_time,omitempty"`
	StartedAt time.Time `json:"started_at,omitzero"`
	ID        string    `json:"id,omitempty"`
	// Host is the manifest host of a container service; empty for this machine.
	Host string `json:"host,omitempty"`
	// Env is the root of the environment that launched a host process, and
	// Token the launch token the process and its descendants carry in
	// their environment (BERTH_LAUNCH); the token names the environment's
	// directory identity, so a copy of the environment does not claim it.
	Env   string `json:"env,omitempty"`
	Token string `json:"token,omitempty"`
	// LogFrom is the size of a host process's captured output file when
	// its launch began: what this launch wrote follows it.
	LogFrom int64 `json:"log_from,omitempty"`
}

// Status values of State.
const (
	Running = "running"
	Stopped = "stopped"
	// Unknown is the state of a service that could not be inspected (its
	// Docker daemon does not answer, say); Reason says why.
	Unknown = "unknown"
)

// State is what a runner finds about a service. Later issues add fields
// (health, host); keep it a plain, extensible struct.
type State struct {
	Name   string `json:"name"`
	State  string `json:"state"`
	PID    int    `json:"pid,omitempty"`
	Runner string `json:"runner"`
	// StartedAt and Uptime are set while running.
	StartedAt *time.Time `json:"started_at,omitempty"`
	Uptime    string     `json:"uptime,omitempty"`
	// Reason says why a service counts as stopped when a record was found
	// (the process exited, the PID now belongs to another process).
	Reason string `json:"reason,omitempty"`
	// Warning is set when a record was found that berth cannot trust (an
	// unreadable PID file, a process it cannot show is the service's):
	// status prints it, and nothing is signalled.
	Warning string `json:"warning,omitempty"`
	// Health is set where a check ran on a running service: healthy,
	// unhealthy or "no check"; HealthDetail is the check's result.
	Health       string `json:"health,omitempty"`
	HealthDetail string `json:"health_detail,omitempty"`
	// Handle is the record found, running or stale; nil when there is none.
	Handle *Handle `json:"-"`
	// Host is the manifest host the service runs on; empty for this machine.
	Host string `json:"host,omitempty"`
	// Run is what the supervisor recorded of a host service's runs.
	Run *RunInfo `json:"run,omitempty"`
	// Detail is what the service's runner knows beyond the fields above
	// (a container's id, a compose project's running services); nil when
	// it has nothing to add. `status -o json` shows its fields beside these.
	Detail Detail `json:"-"`
}

// Detail is one runner's own knowledge of a service, typed by the runner,
// as a Nomad task handle carries its driver's attributes. Its JSON fields
// are flattened into the state's.
type Detail interface {
	// Describe is what a status line shows in parentheses while the
	// service runs, in place of a PID.
	Describe() string
}

// IsRunning says whether the service runs.
func (s State) IsRunning() bool { return s.State == Running }

// Exit is how a service ended.
type Exit struct {
	// Code is the exit status when the process exited normally.
	Code int
	// Signal is set when the process was killed by a signal.
	Signal syscall.Signal
	// Unknown is set when the runner saw the end but not its status
	// (a process berth did not start cannot be waited for).
	Unknown bool
}

// ExitCode is the shell's view: the code, or 128+N for signal N.
func (e Exit) ExitCode() int {
	if e.Signal != 0 {
		return 128 + int(e.Signal)
	}
	return e.Code
}

func (e Exit) String() string {
	switch {
	case e.Unknown:
		return "exited"
	case e.Signal != 0:
		return fmt.Sprintf("was killed by signal %s", signalName(e.Signal))
	default:
		return fmt.Sprintf("exited with code %d", e.Code)
	}
}

func signalName(s syscall.Signal) string { return metadata.SignalName(s) }

// ExitOfCode reads an exit status as the shell reports it: 128+N is
// signal N (docker reports a container killed by KILL as 137).
func ExitOfCode(code int64) Exit {
	if code > 128 && code < 128+65 {
		return Exit{Signal: syscall.Signal(code - 128)}
	}
	return Exit{Code: int(code)}
}

// Stdio is a foreground service's terminal and the signals berth receives,
// which the runner forwards to the service.
type Stdio struct {
	Stdin          *os.File
	Stdout, Stderr *os.File
	Signals        <-chan os.Signal
}

// StopOptions says how to stop one service.
type StopOptions struct {
	Signal syscall.Signal
	Grace  time.Duration
	// Kill sends KILL when the grace period ends instead of failing.
	Kill bool
}

// Runner launches, signals and inspects one service. Every implementation
// passes the conformance suite in runtime/runnertest.
type Runner interface {
	// Start launches svc detached and records its handle where Inspect
	// finds it; it returns once the service is launched, not once it is ready.
	Start(ctx context.Context, svc *Service) (Handle, error)
	// Run launches svc attached to stdio, records its handle, calls launched
	// once it runs, forwards stdio.Signals and returns how it ended. The
	// record is removed at the end if it still names this launch.
	Run(ctx context.Context, svc *Service, stdio Stdio, launched func(Handle)) (Exit, error)
	// Wait returns when the service of h ends or ctx is done.
	Wait(ctx context.Context, h Handle) (Exit, error)
	// Stop sends opts.Signal, waits up to opts.Grace for the service to end
	// (then KILL if opts.Kill) and removes its record. It fails with a
	// *StopTimeoutError when the service outlives the grace period.
	Stop(ctx context.Context, svc *Service, h Handle, opts StopOptions) error
	// Inspect reports the service from what is on disk or in the daemon. It
	// changes nothing.
	Inspect(ctx context.Context, svc *Service) (State, error)
	// Forget removes the record of h if it still names h (a stale record of
	// a service that ended).
	Forget(ctx context.Context, svc *Service, h Handle) error
	// Logs opens what the service wrote to its log destination: its lines,
	// the last opts.Tail of them (all if negative), none older than
	// opts.Since, and with opts.Follow new lines until ctx ends.
	Logs(ctx context.Context, svc *Service, opts LogOptions) (io.ReadCloser, error)
	// Capabilities says what this runner can do beyond the contract above.
	Capabilities() Capabilities
}

// StopTimeoutError means a service outlived its grace period.
type StopTimeoutError struct {
	Service string
	Grace   time.Duration
	Signal  syscall.Signal
	// Survivors names the service's processes still alive ("PID 12 (cmd)").
	Survivors []string
}

func (e *StopTimeoutError) Error() string {
	left := ""
	if len(e.Survivors) > 0 {
		left = "; still running: " + strings.Join(e.Survivors, ", ")
	}
	return fmt.Sprintf("the process did not exit within %s after %s%s (use --force to send KILL, or raise stop_timeout for %s in berth.yaml)", e.Grace, signalName(e.Signal), left, e.Service)
}

// LeftoverError means a service's main process has ended but processes it
// started still run; its record is kept until they are gone.
type LeftoverError struct {
	Service   string
	Survivors []string
}

func (e *LeftoverError) Error() string {
	return fmt.Sprintf("the main process of %s has exited but its processes still run: %s (berth stop --force %s ends them)", e.Service, strings.Join(e.Survivors, ", "), e.Service)
}

// AlreadyRunningError means a named service runs already.
type AlreadyRunningError struct {
	Service string
	PID     int
}

func (e *AlreadyRunningError) Error() string {
	if e.PID == 0 {
		return fmt.Sprintf("%s is already running", e.Service)
	}
	return fmt.Sprintf("%s is already running (PID %d)", e.Service, e.PID)
}

// BusyError means another berth holds the service's start lock.
type BusyError struct {
	Service string
	Holder  int
}

func (e *BusyError) Error() string {
	if e.Holder == 0 {
		return fmt.Sprintf("%s is being started by another berth process: wait for it to finish", e.Service)
	}
	return fmt.Sprintf("%s is being started by another berth process (PID %d): wait for it to finish", e.Service, e.Holder)
}

// StartFailedError means a service ended during its start check.
type StartFailedError struct {
	Service string
	Exit    Exit
	// LastLines are the last lines of its log file, if it logs to one.
	LastLines []string
}

func (e *StartFailedError) Error() string {
	msg := fmt.Sprintf("%s %s right after it started", e.Service, e.Exit)
	if len(e.LastLines) > 0 {
		msg += "; its last log lines:"
		for _, l := range e.LastLines {
			msg += "\n  " + l
		}
	}
	return msg
}

// ErrNotRunning is returned by a runner's Wait when there is nothing to wait for.
var ErrNotRunning = errors.New("not running")

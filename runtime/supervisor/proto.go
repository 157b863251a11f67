package supervisor

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"syscall"
	"time"

	"github.com/berthdev/berth/runtime"
)

// Protocol is the version of the messages below. A client and a
// supervisor also compare berth's own version: a supervisor of another
// build is refused with VersionError, and `berth supervisor replace` hands
// its services to a new one.
const Protocol = 1

// Ops.
const (
	opHello  = "hello"  // who are you
	opStart  = "start"  // launch Spec; the connection stays open until "settle"
	opSettle = "settle" // on a start's connection: how the start ended (OK)
	opWait   = "wait"   // acknowledged at once; answered again when the launch PID of Service ends
	opStop   = "stop"   // a user stops Service: never restart it; answer at once,
	// then the client stops it and sends "settle" with OK on the same connection
	opStatus = "status" // the watched services
	opDetach = "detach" // exit, leaving every service running
)

// Error codes.
const (
	codeVersion = "version"
	codeUnknown = "unknown" // no such launch is watched
	codeClosing = "closing" // the supervisor is shutting down: start another
	codeRefused = "refused"
)

// Request is one client message, a line of JSON.
type Request struct {
	Protocol int    `json:"protocol"`
	Version  string `json:"version"`
	Op       string `json:"op"`
	Service  string `json:"service,omitempty"`
	Spec     *Spec  `json:"spec,omitempty"`
	PID      int    `json:"pid,omitempty"`
	OK       bool   `json:"ok,omitempty"`
}

// Response is one supervisor message, a line of JSON.
type Response struct {
	Protocol int             `json:"protocol"`
	Version  string          `json:"version"`
	PID      int             `json:"pid,omitempty"`
	Error    string          `json:"error,omitempty"`
	Code     string          `json:"code,omitempty"`
	Handle   *runtime.Handle `json:"handle,omitempty"`
	Exit     *ExitInfo       `json:"exit,omitempty"`
	Watched  []Record        `json:"watched,omitempty"`
}

// Spec is a resolved service as a launch needs it: runtime.Service
// without what cannot travel.
type Spec struct {
	Name        string          `json:"name"`
	Runner      string          `json:"runner"`
	Argv        []string        `json:"argv"`
	Env         []string        `json:"env"`
	Dir         string          `json:"dir"`
	StopSignal  int             `json:"stop_signal"`
	StopGrace   time.Duration   `json:"stop_grace"`
	Log         runtime.LogSpec `json:"log"`
	StateDir    string          `json:"state_dir"`
	Root        string          `json:"root"`
	Environment string          `json:"environment"`
}

func specOf(s *runtime.Service) *Spec {
	return &Spec{Name: s.Name, Runner: s.Runner, Argv: s.Argv, Env: s.Env, Dir: s.Dir, StopSignal: int(s.StopSignal),
		StopGrace: s.StopGrace, Log: s.Log, StateDir: s.StateDir, Root: s.Root, Environment: s.Environment}
}

func (s *Spec) service() *runtime.Service {
	return &runtime.Service{Name: s.Name, Runner: s.Runner, Argv: s.Argv, Env: s.Env, Dir: s.Dir,
		StopSignal: syscall.Signal(s.StopSignal), StopGrace: s.StopGrace, Log: s.Log, StateDir: s.StateDir,
		Root: s.Root, Environment: s.Environment}
}

// ExitInfo is how a service ended, as records and events keep it.
type ExitInfo struct {
	Code    int       `json:"code"`
	Signal  string    `json:"signal,omitempty"`
	Unknown bool      `json:"unknown,omitempty"`
	At      time.Time `json:"at"`
}

func exitInfo(e runtime.Exit, at time.Time) *ExitInfo {
	x := &ExitInfo{Code: e.Code, Unknown: e.Unknown, At: at.UTC()}
	if e.Signal != 0 {
		x.Signal, x.Code = signalName(e.Signal), 128+int(e.Signal)
	}
	return x
}

func (x *ExitInfo) exit() runtime.Exit {
	if x == nil {
		return runtime.Exit{Unknown: true}
	}
	if x.Signal != "" {
		return runtime.ExitOfCode(int64(x.Code))
	}
	return runtime.Exit{Code: x.Code, Unknown: x.Unknown}
}

// String is "exit code 3", "signal KILL" or "exit status unknown".
func (x *ExitInfo) String() string {
	switch {
	case x == nil || x.Unknown:
		return "exit status unknown"
	case x.Signal != "":
		return "signal " + x.Signal
	}
	return fmt.Sprintf("exit code %d", x.Code)
}

// conn is a connection speaking lines of JSON.
type conn struct {
	c *net.UnixConn
	r *bufio.Reader
}

func newConn(c *net.UnixConn) *conn { return &conn{c: c, r: bufio.NewReader(c)} }

func (c *conn) send(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = c.c.Write(append(b, '\n'))
	return err
}

func (c *conn) recv(v any) error {
	line, err := c.r.ReadBytes('\n')
	if err != nil {
		return err
	}
	return json.Unmarshal(line, v)
}

func (c *conn) Close() error { return c.c.Close() }

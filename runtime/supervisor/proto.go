package supervisor

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/berthdev/berth/runtime"
)

// Protocol is the version of the messages below. A client and a
// supervisor also compare berth's own version: a supervisor of another
// build is refused with VersionError, and `berth supervisor replace` hands
// its services to a new one.
//
// Version 2: a connection is a session. A command opens one connection
// and sends on it every request of its starts, waits and stops, each with
// an ID of its own, without waiting for the answers of the others; every
// answer carries the ID of its request. (Version 1 took a connection, and
// a round trip to say hello, per request: a start of 100 services made 300
// connections.) hello and detach are still answered on a connection of
// their own, across versions.
//
// Version 3: a stop carries the handle and the stop's options (Stop), and
// the supervisor stops its own child and answers once, when the exit is
// recorded. (Version 2 marked the stop, let the command signal and wait
// on a process it is not the parent of, then took a settle: two round
// trips, a wait on each side, and a walk of /proc whenever the command
// looked at the group before the supervisor had reaped the zombie.)
//
// Version 4: a start's request is answered again, with Exit, when its
// launch ends before the start settles: the command's wait for an exit
// during its start (its start check) is no request, acknowledgement and
// cancel of its own for each service. And a session sends the command's
// environment once: a start's Spec holds only what differs (envbase.go).
//
// Version 5: "live" lists the launches the supervisor watches that have
// not ended, with their handles: a status reads them instead of two /proc
// files of each service (live.go).
//
// Version 6: live's records end with ';', not a newline, so that nothing
// in its answer needs escaping and a status reads it without
// encoding/json.
//
// Version 7: "stops" carries many stops (Batch), each with its own ID and
// answered as a stop is: the supervisor begins each (marks it, verifies
// the record, signals the group) one after another, then waits for their
// ends. A stop all's stops went as 100 requests, and each begun stop's
// wait (a walk of /proc, the exits of the first services) took the
// processor from the reading and signalling of the next ones.
//
// Version 8: a stop whose Handle is not the launch the supervisor watches
// for the service (relaunched since the command read its record) is
// answered codeMoved and nothing is done: the command inspects the
// service again. The command then reads each record once, in its plan,
// not again before its stops (runtime.StopBeginner). A stop of a batch is
// a batchStop: the launch and the options, the service the supervisor's
// own.
const Protocol = 8

// Ops. Each request kind has one op; the answers name the request by ID.
const (
	opHello = "hello" // who are you (its own connection)
	opStart = "start" // launch Spec: answered with its Handle, and again
	// with Exit should the launch end before the client sends "settle"
	// with the same ID once the start has ended
	opSettle = "settle" // how the start or the stop of request ID ended (OK); no answer
	// to a start's; a stop's is answered once the exit is recorded
	opWait = "wait" // acknowledged at once; answered again, with Exit, when
	// the launch PID of Service ends
	opCancel = "cancel" // the client no longer waits for request ID; no answer
	opStop   = "stop"   // a user stops Service: never restart it. With Stop, the
	// supervisor stops it and answers once, when the exit is recorded (a
	// cancel ends the wait); without, it is answered at once, then the
	// client stops it and sends "settle" with OK
	opStops = "stops" // the stops of Batch (each an opStop with Stop), begun in
	// turn, each answered with its own ID as opStop is
	opStatus = "status" // the watched services
	opLive   = "live"   // the handles of the watched launches that have not
	// ended (a status's survey: live.go); with Stopping, the supervisor
	// also prepares for the stops to come (prepareStops)
	opDetach = "detach" // exit, leaving every service running (its own connection)
	opHold   = "hold"   // do not exit, even watching nothing, until the client
	// cancels the request or its session ends: acknowledged at once (a
	// restart holds the supervisor across its stops and the start after)
)

// A session that ends (the command exits) settles each of its starts as
// a success (what was launched stays running), leaves each of its stops
// marked (the service is not restarted) and ends its waits.

// Error codes.
const (
	codeVersion = "version"
	codeUnknown = "unknown" // no such launch is watched
	codeClosing = "closing" // the supervisor is shutting down: start another
	codeRefused = "refused"
	codeTimeout = "timeout" // a stop's grace period ended first (Timeout)
	codeMoved   = "moved"   // a stop's Handle is not the launch watched
)

// Request is one client message, a line of JSON.
type Request struct {
	Protocol int    `json:"protocol"`
	Version  string `json:"version"`
	Op       string `json:"op"`
	// ID names the request within its session.
	ID      uint64 `json:"id,omitempty"`
	Service string `json:"service,omitempty"`
	Spec    *Spec  `json:"spec,omitempty"`
	PID     int    `json:"pid,omitempty"`
	OK      bool   `json:"ok,omitempty"`
	// Stop is a stop the supervisor makes itself (opStop).
	Stop *StopSpec `json:"stop,omitempty"`
	// EnvBase is the session's environment base (envbase.go).
	EnvBase []string `json:"env_base,omitempty"`
	// Stopping, on an opLive, says a stop follows (prepareStops).
	Stopping bool `json:"stopping,omitempty"`
	// Batch holds the stops of an opStops, each a batchStop, decoded as it
	// is begun: the first signal waits for one stop's decoding, not for
	// the whole batch's (1.5 ms for 100).
	Batch []json.RawMessage `json:"batch,omitempty"`
}

// StopSpec is a user's stop of a service as the command planned it: the
// service as the command resolved it, the record it read, and the
// stop's options.
type StopSpec struct {
	Spec   *Spec          `json:"spec"`
	Handle runtime.Handle `json:"handle"`
	Grace  time.Duration  `json:"grace"`
	Signal int            `json:"signal,omitempty"`
	Kill   bool           `json:"kill,omitempty"`
}

// Response is one supervisor message, a line of JSON.
type Response struct {
	Protocol int    `json:"protocol"`
	Version  string `json:"version"`
	// ID is the request answered.
	ID      uint64          `json:"id,omitempty"`
	PID     int             `json:"pid,omitempty"`
	Error   string          `json:"error,omitempty"`
	Code    string          `json:"code,omitempty"`
	Handle  *runtime.Handle `json:"handle,omitempty"`
	Exit    *ExitInfo       `json:"exit,omitempty"`
	Watched []Record        `json:"watched,omitempty"`
	Live    string          `json:"live,omitempty"`
	// Timeout is a stop's StopTimeoutError (Code codeTimeout).
	Timeout *stopTimeout `json:"timeout,omitempty"`
}

// stopTimeout carries a runtime.StopTimeoutError.
type stopTimeout struct {
	Grace     time.Duration `json:"grace"`
	Signal    int           `json:"signal"`
	Survivors []string      `json:"survivors,omitempty"`
}

// Spec is a resolved service as a launch needs it: runtime.Service
// without what cannot travel.
type Spec struct {
	Name        string          `json:"name"`
	Runner      string          `json:"runner"`
	Argv        []string        `json:"argv"`
	Env         []string        `json:"env"`
	EnvFrom     int             `json:"env_from,omitempty"`
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

// conn is a connection speaking lines of JSON; sends may come from many
// goroutines (the requests of a session are answered as each ends).
type conn struct {
	c   *net.UnixConn
	r   *bufio.Reader
	wmu sync.Mutex
	// out joins the messages sent while another is being written (the
	// answers to the stops of a stop all, which end together).
	out batcher
}

func newConn(c *net.UnixConn) *conn { return &conn{c: c, r: bufio.NewReader(c)} }

func (c *conn) send(v any) error { return c.write(marshal(v)) }

// write sends a message encoded as b, in one write with the messages
// sent meanwhile by other goroutines (batcher), and returns once it is
// written.
func (c *conn) write(b []byte, err error) error {
	if err != nil {
		return err
	}
	return c.out.do(append(b, '\n'), c.writeLines)
}

// writeLines writes whole messages to the connection.
func (c *conn) writeLines(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err := c.c.Write(b)
	return err
}

// sendRequest sends a client's request, its environment cut against the
// session's base (envbase.go): encoded and written under the write lock,
// so that the request carrying the base goes out before any counting on it.
func (c *conn) sendRequest(req Request, base *envBase) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	base.trim(&req)
	b, err := marshalRequest(&req)
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
	return unmarshal(line, v)
}

func (c *conn) Close() error { return c.c.Close() }

// warmCodec encodes and decodes a request and an answer of every kind
// once, so that encoding/json has built its codecs for these types before
// the first real message: on this machine building them is mostly first
// touches of fresh pages, ~1 ms in a new process. The spawning client runs
// it while it waits for the supervisor to serve, the supervisor while it
// starts: each does it when it would otherwise wait, not on the path of the
// first launch.
func warmCodec() {
	spec := &Spec{Argv: []string{"x"}, Env: []string{"A=b"}}
	b, _ := json.Marshal(Request{Op: opStart, Spec: spec, Stop: &StopSpec{Spec: spec}})
	var req Request
	json.Unmarshal(b, &req)
	b, _ = json.Marshal(Response{Handle: &runtime.Handle{}, Exit: &ExitInfo{}, Watched: []Record{{}},
		Timeout: &stopTimeout{Survivors: []string{"x"}}})
	var resp Response
	json.Unmarshal(b, &resp)
}

// warmPidfd has the os package check, once per process, that pidfds work:
// the check (pidfd_open, waitid, and a clone with CLONE_PIDFD of a child
// that exits at once) otherwise runs inside the first launch. Finding a
// process makes it; the supervisor runs it as it starts, beside its lock
// and listen.
func warmPidfd() {
	if p, err := os.FindProcess(os.Getpid()); err == nil {
		p.Release()
	}
}

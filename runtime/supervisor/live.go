package supervisor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/berthdev/berth/internal/jsonscan"
	"github.com/berthdev/berth/runtime"
	"github.com/berthdev/berth/runtime/process"
)

// A status asks the supervisor, in one request, which launches it watches
// have not ended, instead of reading two /proc files of each service: the
// supervisor is the parent of what it launched (and holds a pidfd of what
// it adopted), so a launch it has not seen end is still the process it
// verified, and its PID cannot have been reused. The PID file stays the
// record: a launch is taken as running only when its record still names
// the same PID, start time and launch token (process.InspectRead).
// Nothing is signalled on this word alone: a stop verifies the process
// itself, and only the inspections of a status or of a stop's plan see
// the survey (Survey).

// liveTimeout bounds a status's wait for the supervisor's answer, which
// comes in well under a millisecond: past it (a supervisor busy or stuck)
// the status inspects each service as it would without one, and is not
// held up longer than that.
var liveTimeout = 250 * time.Millisecond

// errNoAnswer: a supervisor took the survey's request and did not answer
// in time. It runs (revive has nothing to do) and is not asked again.
var errNoAnswer = errors.New("the supervisor did not answer in time")

// A survey's request is a Request (op live), which berth writes without
// encoding/json (marshalRequest); its answer is liveAnswer, a Response cut
// to what a survey carries, and the launches are records of text
// ("service pid start-time token", each ended by ';'), not objects:
// encoding/json builds a codec for each type on its first use and decodes
// an object per launch, which cost a status of 100 services more than the
// inspections the survey saves. Nothing in an answer needs escaping in
// JSON (names, numbers and tokens; ';', not a newline, between records),
// so the client reads it without encoding/json (decodeLiveAnswer). (The
// request had a type of its own, written by encoding/json, whose codec
// every status built by reflection: some 5 page faults of a status.)
type liveAnswer struct {
	Protocol int    `json:"protocol"`
	Version  string `json:"version"`
	PID      int    `json:"pid,omitempty"`
	Error    string `json:"error,omitempty"`
	Code     string `json:"code,omitempty"`
	Live     string `json:"live,omitempty"`
}

// live lists the launches the supervisor watches that have not ended, a
// record each.
func (s *Supervisor) live() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := make([]byte, 0, 64*len(s.watches))
	for name, w := range s.watches {
		l := w.cur
		if l == nil {
			continue
		}
		select {
		case <-l.done:
			continue
		default:
		}
		b = append(append(b, name...), ' ')
		b = append(strconv.AppendInt(b, int64(l.h.PID), 10), ' ')
		b = append(strconv.AppendUint(b, l.h.StartTime, 10), ' ')
		b = append(append(b, l.h.Token...), ';')
	}
	return string(b)
}

// prepareStops has the process runner walk /proc, in the background, for
// the stops a command is planning (its survey said so): the walks a stop
// needs (the groups, and the processes that carry a launch token since
// the earliest launch watched), made while the command starts and plans,
// are the ones its stops then share, rather than made between the
// command's request and the first signal, and beside the services'
// exits. Nothing is signalled here.
func (s *Supervisor) prepareStops() {
	var from uint64
	s.mu.Lock()
	for _, w := range s.watches {
		if l := w.cur; l != nil && l.h.StartTime > 0 && (from == 0 || l.h.StartTime < from) {
			from = l.h.StartTime
		}
	}
	s.mu.Unlock()
	if from == 0 {
		return
	}
	if f := onPrepareStops.Load(); f != nil {
		(*f)(from)
	}
	go s.proc.PrepareStops(from)
}

// onPrepareStops, when set (by tests), is told of each prepareStops.
var onPrepareStops atomic.Pointer[func(from uint64)]

// liveLaunch is a live launch of a survey's answer: what of its handle the
// supervisor vouches for. (A map of whole handles took 19 KB for 100
// services, most of a survey's answer.)
type liveLaunch struct {
	pid   int
	start uint64
	token string
}

// launches are a survey's live launches, by service.
type launches map[string]liveLaunch

// handle is the handle of name's live launch, if it has one.
func (l launches) handle(name string) (runtime.Handle, bool) {
	x, ok := l[name]
	if !ok {
		return runtime.Handle{}, false
	}
	return runtime.Handle{Service: name, PID: x.pid, StartTime: x.start, Token: x.token}, true
}

// parseLive reads live's records back, by service.
func parseLive(text string) (launches, error) {
	out := make(launches, strings.Count(text, ";"))
	for text != "" {
		rec, rest, ended := strings.Cut(text, ";")
		if !ended {
			return nil, fmt.Errorf("a live launch record without its end: %q", rec)
		}
		text = rest
		name, rest, ok1 := strings.Cut(rec, " ")
		pidText, rest, ok2 := strings.Cut(rest, " ")
		startText, token, ok3 := strings.Cut(rest, " ")
		if !ok1 || !ok2 || !ok3 || name == "" || token == "" || strings.Contains(token, " ") {
			return nil, fmt.Errorf("a live launch record that is not \"service pid start-time token\": %q", rec)
		}
		pid, err := strconv.Atoi(pidText)
		if err != nil {
			return nil, err
		}
		st, err := strconv.ParseUint(startText, 10, 64)
		if err != nil {
			return nil, err
		}
		out[name] = liveLaunch{pid: pid, start: st, token: token}
	}
	return out, nil
}

// decodeLiveAnswer reads an answer as the supervisor writes it (compact
// JSON of liveAnswer, strings without escapes) without encoding/json,
// whose first use in a process builds the type's codec by reflection: a
// quarter of a millisecond of a status of 100. ok is false for anything
// else (an error's message with quotes in it), which encoding/json then
// reads; FuzzDecodeLiveAnswer holds the two to the same answer.
func decodeLiveAnswer(b []byte) (a liveAnswer, ok bool) {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	ok = jsonscan.Object(b, func(key, value []byte) ([]byte, bool) {
		switch k := string(key); k {
		case "protocol", "pid":
			n, rest, ok := jsonscan.Uint(value)
			if !ok || n > math.MaxInt32 {
				return nil, false
			}
			if k == "pid" {
				a.PID = int(n)
			} else {
				a.Protocol = int(n)
			}
			return rest, true
		case "version", "error", "code", "live":
			s, rest, ok := jsonscan.String(value)
			if !ok {
				return nil, false
			}
			*a.text(k) = string(s)
			return rest, true
		}
		return nil, false
	})
	return a, ok
}

// text is the string field of a that key names.
func (a *liveAnswer) text(key string) *string {
	switch key {
	case "version":
		return &a.Version
	case "error":
		return &a.Error
	case "code":
		return &a.Code
	}
	return &a.Live
}

// Live returns, by service, the launches the supervisor watches that have
// not ended, each as the PID, start time and token of its handle.
func (c *Client) Live() (map[string]runtime.Handle, error) {
	l, err := c.live()
	if err != nil {
		return nil, err
	}
	out := make(map[string]runtime.Handle, len(l))
	for name := range l {
		out[name], _ = l.handle(name)
	}
	return out, nil
}

// live is Live as a survey keeps it.
func (c *Client) live() (launches, error) {
	cn, err := c.askLive(false)
	if err != nil {
		return nil, err
	}
	return c.readLive(cn)
}

// askLive sends the request of Live (with stopping, for a stop's plan);
// readLive reads its answer.
func (c *Client) askLive(stopping bool) (*conn, error) {
	cn, err := c.dialOwn()
	if err != nil {
		return nil, err
	}
	cn.c.SetDeadline(time.Now().Add(liveTimeout))
	if err := cn.send(Request{Protocol: Protocol, Version: c.Version, Op: opLive, Stopping: stopping}); err != nil {
		cn.Close()
		return nil, fmt.Errorf("%w (%v)", ErrNotRunning, err)
	}
	return cn, nil
}

func (c *Client) readLive(cn *conn) (live launches, err error) {
	defer cn.Close()
	defer func() {
		if !errors.Is(err, ErrNotRunning) {
			c.mu.Lock()
			c.answered = true
			c.mu.Unlock()
		}
	}()
	line, err := cn.r.ReadBytes('\n')
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return nil, fmt.Errorf("%w (within %v)", errNoAnswer, liveTimeout)
	} else if err != nil {
		return nil, fmt.Errorf("%w (%v)", ErrNotRunning, err)
	}
	a, ok := decodeLiveAnswer(line)
	if !ok {
		if err := json.Unmarshal(line, &a); err != nil {
			return nil, fmt.Errorf("%w (%v)", ErrNotRunning, err)
		}
	}
	if err := c.answerError(Response{Protocol: a.Protocol, Version: a.Version, PID: a.PID, Error: a.Error, Code: a.Code}); err != nil {
		return nil, err
	}
	return parseLive(a.Live)
}

// livePending is a Live asked for and read later, once.
type livePending struct {
	cn   *conn
	once sync.Once
	live launches
	err  error
}

func (p *livePending) result(c *Client) (launches, error) {
	p.once.Do(func() {
		if p.err == nil {
			p.live, p.err = c.readLive(p.cn)
		}
	})
	return p.live, p.err
}

// PrefetchLive asks for Live now, for the survey of this command's
// status, and leaves the answer to be read once the manifest is: the
// supervisor answers meanwhile on the other core. (Asked from a goroutine,
// the request went out most of a millisecond later, and the answer then
// made the command wait.)
func (c *Client) PrefetchLive() { c.prefetchLive(false) }

// PrefetchLiveForStop is PrefetchLive for the plan of a stop: the
// supervisor also prepares for the stops to come (prepareStops) while
// the command starts and plans.
func (c *Client) PrefetchLiveForStop() { c.prefetchLive(true) }

func (c *Client) prefetchLive(stopping bool) {
	p := &livePending{}
	p.cn, p.err = c.askLive(stopping)
	c.mu.Lock()
	c.prefetched = p
	c.mu.Unlock()
}

// prefetchAnswered says whether a supervisor answered the prefetch (of
// this build or another), or a Live of the survey that took it: one runs,
// and Revive has nothing to do. A status revives after its survey took
// the prefetch: without the survey's answer remembered, its revive read
// the supervisor's PID file and /proc again to learn what it knew.
func (c *Client) prefetchAnswered() bool {
	c.mu.Lock()
	p, answered := c.prefetched, c.answered
	c.mu.Unlock()
	if answered || p == nil {
		return answered
	}
	_, err := p.result(c)
	return !errors.Is(err, ErrNotRunning)
}

// takeLive is the prefetched Live, once, or a fresh one. A prefetch that
// found no supervisor is asked again: the command may have started one
// since (Revive) for the services a killed one watched. One that was not
// answered in time is not.
func (c *Client) takeLive() (launches, error) {
	c.mu.Lock()
	p := c.prefetched
	c.prefetched = nil
	c.mu.Unlock()
	if p != nil {
		if live, err := p.result(c); !errors.Is(err, ErrNotRunning) {
			return live, err
		}
	}
	return c.live()
}

type liveKey struct{ r *Runner }

// Survey asks the supervisor for its live launches once, for the
// inspections of one status (runtime.Surveyor). Without an answer (none
// runs, another build, a timeout) the inspections read /proc as usual.
//
// The answer is waited for by the first inspection that has read its PID
// file, so the inspections read their files while the supervisor answers.
func (r *Runner) Survey(ctx context.Context) context.Context {
	return context.WithValue(ctx, liveKey{r}, &survey{c: r.Client, read: map[string]process.Record{}})
}

// survey is the answer of one status's survey, asked for once, and the
// records its inspections read before they waited for it.
type survey struct {
	c    *Client
	once sync.Once
	live launches // nil without an answer

	mu   sync.Mutex
	read map[string]process.Record
}

// Prepare reads svc's PID file for its inspection, before the survey's
// answer is waited for.
func (r *Runner) Prepare(ctx context.Context, svc *runtime.Service) {
	if s, ok := ctx.Value(liveKey{r}).(*survey); ok {
		rd := r.Runner.ReadRecord(svc)
		s.mu.Lock()
		s.read[svc.Name] = rd
		s.mu.Unlock()
	}
}

// record is the record prepared for svc (taken once), or a fresh read.
func (s *survey) record(r *Runner, svc *runtime.Service) process.Record {
	s.mu.Lock()
	rd, ok := s.read[svc.Name]
	delete(s.read, svc.Name)
	s.mu.Unlock()
	if !ok {
		rd = r.Runner.ReadRecord(svc)
	}
	return rd
}

func (s *survey) vouchFor(name string) (runtime.Handle, bool) {
	s.once.Do(func() {
		if live, err := s.c.takeLive(); err == nil {
			s.live = live
		}
	})
	return s.live.handle(name)
}

// Inspect is the process runner's, but for a launch the supervisor
// vouched for in this status's survey whose record still names it.
func (r *Runner) Inspect(ctx context.Context, svc *runtime.Service) (runtime.State, error) {
	if s, ok := ctx.Value(liveKey{r}).(*survey); ok {
		return r.Runner.InspectRead(svc, s.record(r, svc), func() (runtime.Handle, bool) { return s.vouchFor(svc.Name) }), nil
	}
	return r.Runner.Inspect(ctx, svc)
}

var _ runtime.Surveyor = (*Runner)(nil)

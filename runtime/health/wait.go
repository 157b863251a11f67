package health

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/berthdev/berth/metadata"
)

// DefaultStartInterval caps the poll interval of a wait after a start. The
// polls start at firstPoll and double up to the cap, so a service that is
// ready at once is seen at once, and one that needs 200 ms is seen less than
// a cap later; the check's own interval (default 10 s) is for monitoring and
// would make every start slow.
const DefaultStartInterval = 50 * time.Millisecond

const firstPoll = 10 * time.Millisecond

// A tcp check is a connect: refused on loopback in microseconds, and it
// asks nothing of the service until it listens. Its waits poll from
// tcpFirstPoll up to tcpStartInterval, so that a start ends within a few
// milliseconds of the port opening (at DefaultStartInterval it ended 25 ms
// late on average, once per dependency level). A refused connect to this
// machine costs ~20 µs (connectNow), so ten services polled every 5 ms
// take 4% of a core, and a start ends 2.5 ms after its ports open on
// average rather than 5.
const (
	tcpFirstPoll     = 1 * time.Millisecond
	tcpStartInterval = 5 * time.Millisecond
)

// startPolls is the first pause and the cap of a wait's polls for hc.
func startPolls(hc *metadata.HealthCheck) (first, limit time.Duration) {
	if hc.Type == metadata.HealthTCP {
		return tcpFirstPoll, tcpStartInterval
	}
	return firstPoll, DefaultStartInterval
}

// Errors a wait ends with, inside a *WaitError.
var (
	ErrTimeout = errors.New("not healthy in time")
	ErrExited  = errors.New("exited before it became healthy")
)

// WaitOptions say how long and how to wait for one service.
type WaitOptions struct {
	Options
	// Service names the service in errors.
	Service string
	// Timeout is the whole wait; zero means metadata.DefaultStartTimeout.
	Timeout time.Duration
	// Interval caps the poll interval; zero means the smaller of the
	// check's interval and DefaultStartInterval.
	Interval time.Duration
	// Alive, if set, is asked before each attempt; false ends the wait with ErrExited.
	Alive func() bool
	// Exited, if set, is closed when the service's process ends (from a
	// pidfd or Wait), which ends the wait at once with ErrExited.
	Exited <-chan struct{}
	// Progress, if set, is called with each attempt's result.
	Progress func(Result)
}

// WaitError says why a service did not become healthy, with the last check.
type WaitError struct {
	Service string
	Waited  time.Duration
	Last    Result // zero if no attempt was made
	Err     error  // ErrTimeout, ErrExited or the context's error
}

func (e *WaitError) Error() string {
	name := e.Service
	if name == "" {
		name = "service"
	}
	var what string
	switch {
	case errors.Is(e.Err, ErrTimeout):
		what = fmt.Sprintf("%s did not become healthy within %s", name, e.Waited.Round(time.Millisecond))
	case errors.Is(e.Err, ErrExited):
		what = fmt.Sprintf("%s exited before it became healthy", name)
	default:
		what = fmt.Sprintf("waiting for %s to become healthy: %v", name, e.Err)
	}
	if e.Last.Kind != "" {
		what += " (last check: " + e.Last.Detail + ")"
	}
	return what
}

func (e *WaitError) Unwrap() error { return e.Err }

// WaitHealthy checks hc until it passes, the timeout passes, the process
// dies or ctx ends. It returns the passing result, or the last result and a
// *WaitError.
func WaitHealthy(ctx context.Context, hc *metadata.HealthCheck, opts WaitOptions) (Result, error) {
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = metadata.DefaultStartTimeout
	}
	first, limit := startPolls(hc)
	if opts.Interval > 0 {
		limit = opts.Interval
	} else {
		limit = min(Interval(hc), limit)
	}
	first = min(first, limit)
	start := time.Now()
	deadline := start.Add(timeout)
	fail := func(last Result, err error) (Result, error) {
		return last, &WaitError{Service: opts.Service, Waited: time.Since(start), Last: last, Err: err}
	}
	var last Result
	timer := time.NewTimer(0)
	defer timer.Stop()
	for pause := first; ; pause = min(pause*2, limit) {
		select {
		case <-ctx.Done():
			return fail(last, ctx.Err())
		case <-opts.Exited:
			return fail(last, ErrExited)
		case <-timer.C:
		}
		if opts.Alive != nil && !opts.Alive() {
			return fail(last, ErrExited)
		}
		remaining := time.Until(deadline)
		if remaining <= 0 {
			return fail(last, ErrTimeout)
		}
		o := opts.Options
		if o.Timeout <= 0 {
			o.Timeout = Timeout(hc)
		}
		full := o.Timeout
		o.Timeout = min(full, remaining)
		r := Check(ctx, hc, o)
		if opts.Progress != nil {
			opts.Progress(r)
		}
		if r.Healthy {
			return r, nil
		}
		// An attempt cut short by the end of the wait says only that the
		// time ran out (on a loaded machine, "timed out after 600µs"); the
		// attempt before it says why the service was not healthy.
		if cut := o.Timeout < full && time.Until(deadline) <= 0; !cut || last.Kind == "" {
			last = r
		}
		if ctx.Err() != nil {
			return fail(last, ctx.Err())
		}
		if time.Until(deadline) <= 0 {
			return fail(last, ErrTimeout)
		}
		timer.Reset(min(pause, time.Until(deadline)))
	}
}

// Target is one service to wait for in WaitAll.
type Target struct {
	Check *metadata.HealthCheck
	WaitOptions
}

// Outcome is how one Target's wait ended.
type Outcome struct {
	Service string
	Result  Result
	Err     error
}

// WaitAll waits for every target at the same time, so the whole wait takes
// as long as the slowest service, not the sum. Outcomes are in the targets'
// order; the error joins every target's error.
func WaitAll(ctx context.Context, targets []Target) ([]Outcome, error) {
	out := make([]Outcome, len(targets))
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := WaitHealthy(ctx, t.Check, t.WaitOptions)
			out[i] = Outcome{Service: t.Service, Result: r, Err: err}
		}()
	}
	wg.Wait()
	var errs []error
	for _, o := range out {
		if o.Err != nil {
			errs = append(errs, o.Err)
		}
	}
	return out, errors.Join(errs...)
}

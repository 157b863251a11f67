package health

import (
	"context"
	"time"

	"github.com/berthdev/berth/metadata"
)

// Tracker turns a series of check results into a state the way a monitor
// reports it: a service becomes unhealthy only after Retries failures in a
// row, so one slow answer does not flap it, and healthy again after one pass.
type Tracker struct {
	Retries  int
	failures int
	state    State
}

// NewTracker tracks hc's results with its retries (default DefaultRetries).
func NewTracker(hc *metadata.HealthCheck) *Tracker { return &Tracker{Retries: Retries(hc)} }

// Observe records a result and returns the state and whether it changed.
// The first result always counts as a change, so a watcher prints where it starts.
func (t *Tracker) Observe(r Result) (State, bool) {
	next := t.state
	if r.Healthy {
		t.failures = 0
		next = StateHealthy
	} else {
		t.failures++
		if t.failures >= max(t.Retries, 1) || t.state == "" {
			// Until retries run out a service keeps its state; with no
			// state yet, a failure is what there is to report.
			next = StateUnhealthy
		}
	}
	changed := next != t.state
	t.state = next
	return next, changed
}

// Watch checks hc every interval (the check's own when zero) until ctx
// ends, calling fn with each result and the tracked state. It returns nil
// when ctx ends.
func Watch(ctx context.Context, hc *metadata.HealthCheck, opts Options, interval time.Duration, fn func(r Result, s State, changed bool)) error {
	if interval <= 0 {
		interval = Interval(hc)
	}
	t := NewTracker(hc)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		r := Check(ctx, hc, opts)
		if ctx.Err() != nil {
			return nil
		}
		s, changed := t.Observe(r)
		fn(r, s, changed)
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

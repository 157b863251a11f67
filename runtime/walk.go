package runtime

import (
	"context"
	"errors"
	"sync"
)

// gate is one thing a node of a walk waits for: another node having
// reached a milestone. A start waits for a dependency to be launched
// (started) or ready (done); a stop waits for a dependent to be stopped (done).
type gate struct {
	node string
	// done waits for the node's visit to return; otherwise for its launched call.
	done bool
}

// walkOptions tune a walk.
type walkOptions struct {
	// limit is how many visits may hold a slot at once; 0 means no limit.
	limit int
	// slotUntilDone keeps a visit's slot until it returns; otherwise the
	// slot is freed when the visit calls launched (a start: a readiness
	// wait is a poll, not work to limit).
	slotUntilDone bool
	// keepGoing schedules further nodes after a visit fails (stop all goes
	// on past failures). Otherwise the first failure ends scheduling and
	// cancels the context the running visits were given.
	keepGoing bool
}

// walk is the one graph walk of start and stop, in the manner of
// docker/compose's InDependencyOrder: nodes, in priority order, are visited
// once their gates are open, at most limit at a time, the free slots given
// to the earliest ready nodes in that order, so that a limit of 1 visits
// them exactly in order. A node whose gates can never open (a gate node
// failed, or is not visited because scheduling ended) is not visited.
// It returns every visit's error, joined, in node order.
//
// checksize: keep (issue 11: one scheduling loop whose states are read best
// in one place).
func walk(ctx context.Context, nodes []string, gates map[string][]gate, opts walkOptions, visit func(ctx context.Context, name string, launched func()) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	const (
		pending = iota
		running
		launched
		done
		failed
	)
	type event struct {
		name     string
		launched bool
		err      error
	}
	state := make(map[string]int, len(nodes))
	for _, n := range nodes {
		state[n] = pending
	}
	holds := make(map[string]bool, len(nodes))
	errs := make(map[string]error)
	events := make(chan event)
	var wg sync.WaitGroup
	inflight, active := 0, 0
	stopping := false

	// open says whether n's gates are open, or can never open.
	open := func(n string) (ok, never bool) {
		for _, g := range gates[n] {
			s, known := state[g.node]
			if !known {
				continue // not part of this walk
			}
			switch s {
			case failed:
				if !opts.keepGoing {
					return false, true
				}
				// Going on past failures: a failed node counts as finished.
			case pending, running:
				return false, false
			case launched:
				if g.done {
					return false, false
				}
			}
		}
		return true, false
	}
	schedule := func() {
		for changed := true; changed; {
			changed = false
			for _, n := range nodes {
				if state[n] != pending {
					continue
				}
				ok, never := open(n)
				if never || stopping {
					// Cannot run: mark it so later nodes see it will not come.
					state[n] = failed
					changed = true
					continue
				}
				if !ok || (opts.limit > 0 && inflight >= opts.limit) {
					continue
				}
				state[n] = running
				holds[n] = true
				inflight++
				active++
				wg.Add(1)
				go func() {
					defer wg.Done()
					var once sync.Once
					err := visit(ctx, n, func() {
						once.Do(func() { events <- event{name: n, launched: true} })
					})
					events <- event{name: n, err: err}
				}()
			}
		}
	}
	schedule()
	for active > 0 {
		ev := <-events
		release := func() {
			if holds[ev.name] {
				holds[ev.name] = false
				inflight--
			}
		}
		switch {
		case ev.launched:
			if state[ev.name] == running {
				state[ev.name] = launched
			}
			if !opts.slotUntilDone {
				release()
			}
		case ev.err != nil:
			release()
			active--
			state[ev.name] = failed
			errs[ev.name] = ev.err
			if !opts.keepGoing && !stopping {
				stopping = true
				cancel()
			}
		default:
			release()
			active--
			state[ev.name] = done
		}
		schedule()
	}
	wg.Wait()
	var out []error
	for _, n := range nodes {
		if errs[n] != nil {
			out = append(out, errs[n])
		}
	}
	return errors.Join(out...)
}

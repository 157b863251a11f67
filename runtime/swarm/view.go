package swarm

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
)

// A start of N swarm services waits on each of them three ways at once
// (readiness, the exit watch beside it, the start check), and each wait
// used to poll the service and its tasks itself: 6N requests per poll
// interval, a few hundred a second for ten services, answered by the same
// daemon whose manager is meanwhile dispatching those services' tasks (on
// this machine it took several times the CPU docker stack's own polling
// costs, and the tasks started seconds later). The waits now share one
// view of the environment instead: its services and its tasks, two
// requests, fetched at most once per Poll however many waits read it.

// snapshot is the environment's swarm services and their tasks, as one
// fetch found them.
type snapshot struct {
	byID   map[string]*swarm.Service
	byName map[string]*swarm.Service
	// tasks are each listed service's tasks, sorted as Runner.tasks sorts
	// them.
	tasks map[string][]swarm.Task
	// all are the environment's tasks by ID, those of services removed
	// since included (until Swarm deletes them, once they ended).
	all map[string]swarm.Task
}

// fetch is one read of an environment's view that callers join until it
// begins.
type fetch struct {
	done chan struct{}
	snap *snapshot
	err  error
}

// envView coalesces the reads of one environment's view.
type envView struct {
	mu sync.Mutex
	// next is the fetch not yet begun, which new readers join.
	next *fetch
	// last is when the last fetch began.
	last time.Time
}

type views struct {
	mu    sync.Mutex
	byEnv map[string]*envView
}

func (vs *views) of(environment string) *envView {
	vs.mu.Lock()
	defer vs.mu.Unlock()
	if vs.byEnv == nil {
		vs.byEnv = map[string]*envView{}
	}
	v := vs.byEnv[environment]
	if v == nil {
		v = &envView{}
		vs.byEnv[environment] = v
	}
	return v
}

// view returns the services and tasks of environment from a fetch that
// began after this call, so that it shows whatever the caller did before;
// fetches begin at most once per Poll, and every reader waiting for one
// shares it.
func (r *Runner) view(ctx context.Context, c API, environment string) (*snapshot, error) {
	v := r.views.of(environment)
	v.mu.Lock()
	f := v.next
	if f == nil {
		f = &fetch{done: make(chan struct{})}
		v.next = f
		go r.runFetch(c, environment, v, f, time.Until(v.last.Add(r.opts.Poll)))
	}
	v.mu.Unlock()
	select {
	case <-f.done:
		return f.snap, f.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// viewTimeout bounds one fetch, which outlives the readers that gave up on it.
const viewTimeout = time.Minute

func (r *Runner) runFetch(c API, environment string, v *envView, f *fetch, after time.Duration) {
	if after > 0 {
		time.Sleep(after)
	}
	v.mu.Lock()
	v.next, v.last = nil, time.Now()
	v.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), viewTimeout)
	defer cancel()
	f.snap, f.err = fetchSnapshot(ctx, c, environment)
	close(f.done)
}

// fetchSnapshot lists the environment's services and then their tasks
// (a service listed may have lost its tasks since, never the other way
// round: a task listed belongs to a service that was listed, or that was
// created in between and is then left out).
func fetchSnapshot(ctx context.Context, c API, environment string) (*snapshot, error) {
	f := filters.NewArgs(filters.Arg("label", LabelEnvironment+"="+environment))
	ss, err := c.ServiceList(ctx, swarm.ServiceListOptions{Filters: f})
	if err != nil {
		return nil, fmt.Errorf("list the swarm services of environment %s: %w", environment, err)
	}
	// Swarm matches a task's labels filter against its service's labels.
	ts, err := c.TaskList(ctx, swarm.TaskListOptions{Filters: f})
	if err != nil {
		return nil, fmt.Errorf("list the swarm tasks of environment %s: %w", environment, err)
	}
	s := &snapshot{byID: map[string]*swarm.Service{}, byName: map[string]*swarm.Service{}, tasks: map[string][]swarm.Task{}, all: map[string]swarm.Task{}}
	for i := range ss {
		s.byID[ss[i].ID] = &ss[i]
		s.byName[ss[i].Spec.Name] = &ss[i]
	}
	for _, t := range ts {
		s.all[t.ID] = t
		if s.byID[t.ServiceID] != nil {
			s.tasks[t.ServiceID] = append(s.tasks[t.ServiceID], t)
		}
	}
	for _, ts := range s.tasks {
		sortTasks(ts)
	}
	return s, nil
}

// sortTasks orders tasks by slot, the newest first within a slot.
func sortTasks(ts []swarm.Task) {
	sort.Slice(ts, func(i, j int) bool {
		if ts[i].Slot != ts[j].Slot {
			return ts[i].Slot < ts[j].Slot
		}
		return ts[i].Meta.CreatedAt.After(ts[j].Meta.CreatedAt)
	})
}

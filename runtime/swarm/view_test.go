package swarm_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dswarm "github.com/docker/docker/api/types/swarm"

	"github.com/berthdev/berth/images/engine/enginetest"
	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/runtime"
	"github.com/berthdev/berth/runtime/swarm"
)

// fakeSwarm is an environment's services and tasks as a fake daemon holds
// them, counting the calls that read them.
type fakeSwarm struct {
	mu       sync.Mutex
	services []dswarm.Service
	tasks    []dswarm.Task
	lists    map[string]*atomic.Int64
}

func (fs *fakeSwarm) count(call string) int64 { return fs.lists[call].Load() }

func (fs *fakeSwarm) add(env string, n int, state dswarm.TaskState) []*runtime.Service {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	var svcs []*runtime.Service
	one := uint64(1)
	for i := range n {
		svc := &runtime.Service{Name: fmt.Sprintf("s%02d", i), Environment: env, Runner: metadata.RunnerSwarm}
		id := fmt.Sprintf("id-%s-%d", env, i)
		fs.services = append(fs.services, dswarm.Service{ID: id, Spec: dswarm.ServiceSpec{
			Annotations: dswarm.Annotations{Name: swarm.Name(svc), Labels: map[string]string{swarm.LabelEnvironment: env, swarm.LabelService: svc.Name}},
			Mode:        dswarm.ServiceMode{Replicated: &dswarm.ReplicatedService{Replicas: &one}},
		}})
		fs.tasks = append(fs.tasks, dswarm.Task{ID: "task-" + id, ServiceID: id, Slot: 1,
			DesiredState: dswarm.TaskStateRunning, Status: dswarm.TaskStatus{State: state}})
		svcs = append(svcs, svc)
	}
	return svcs
}

func (fs *fakeSwarm) fake() *enginetest.Fake {
	fs.lists = map[string]*atomic.Int64{"ServiceList": {}, "TaskList": {}, "ServiceInspect": {}}
	label := func(ls map[string]string, f []string) bool {
		for _, kv := range f {
			if kv != swarm.LabelEnvironment+"="+ls[swarm.LabelEnvironment] {
				return false
			}
		}
		return true
	}
	return &enginetest.Fake{
		ServiceListFunc: func(ctx context.Context, o dswarm.ServiceListOptions) ([]dswarm.Service, error) {
			fs.lists["ServiceList"].Add(1)
			fs.mu.Lock()
			defer fs.mu.Unlock()
			var out []dswarm.Service
			for _, s := range fs.services {
				if label(s.Spec.Labels, o.Filters.Get("label")) {
					out = append(out, s)
				}
			}
			return out, nil
		},
		TaskListFunc: func(ctx context.Context, o dswarm.TaskListOptions) ([]dswarm.Task, error) {
			fs.lists["TaskList"].Add(1)
			fs.mu.Lock()
			defer fs.mu.Unlock()
			byID := map[string]dswarm.Service{}
			for _, s := range fs.services {
				byID[s.ID] = s
			}
			var out []dswarm.Task
			for _, t := range fs.tasks {
				if s, ok := byID[t.ServiceID]; ok && label(s.Spec.Labels, o.Filters.Get("label")) &&
					(len(o.Filters.Get("service")) == 0 || o.Filters.ExactMatch("service", t.ServiceID)) {
					out = append(out, t)
				}
			}
			return out, nil
		},
		ServiceInspectFunc: func(ctx context.Context, id string) (dswarm.Service, error) {
			fs.lists["ServiceInspect"].Add(1)
			fs.mu.Lock()
			defer fs.mu.Unlock()
			for _, s := range fs.services {
				if s.ID == id || s.Spec.Name == id {
					return s, nil
				}
			}
			return dswarm.Service{}, enginetest.NotFound("service " + id)
		},
	}
}

func (fs *fakeSwarm) setState(state dswarm.TaskState) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for i := range fs.tasks {
		fs.tasks[i].Status.State = state
	}
}

// TestWaitsShareOneView: the waits of a start of ten swarm services (each
// service's readiness poll, its exit watch and its start check) read the
// environment's services and tasks once per poll interval between them,
// not once each: 2 requests per interval instead of 6 per service.
func TestWaitsShareOneView(t *testing.T) {
	fs := &fakeSwarm{}
	f := fs.fake()
	svcs := fs.add("env1", 10, dswarm.TaskStatePreparing)
	const poll = 20 * time.Millisecond
	r := swarm.New(swarm.Options{Client: func(context.Context) (swarm.API, error) { return f, nil }, Poll: poll})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	began := time.Now()
	var wg sync.WaitGroup
	for i, svc := range svcs {
		h := runtime.Handle{Service: svc.Name, Runner: metadata.RunnerSwarm, ID: fmt.Sprintf("id-env1-%d", i)}
		wg.Add(2)
		go func() { // the start check
			defer wg.Done()
			if _, err := r.Wait(ctx, h); err != nil && ctx.Err() == nil {
				t.Errorf("wait %s: %v", svc.Name, err)
			}
		}()
		go func() { // readiness, with its exit watch
			defer wg.Done()
			if err := runtime.WaitRunnerReady(ctx, r, svc, h, 10*time.Second); err != nil {
				t.Errorf("ready %s: %v", svc.Name, err)
			}
		}()
	}
	time.Sleep(20 * poll)
	fs.setState(dswarm.TaskStateRunning)
	time.Sleep(5 * poll)
	cancel()
	wg.Wait()
	elapsed := time.Since(began)
	// One fetch per interval at most, and one more begun before the first.
	most := int64(elapsed/poll) + 2
	if n := fs.count("TaskList"); n > most || n < 2 {
		t.Errorf("%d task lists in %s for 10 services' waits, want between 2 and %d (one per %s)", n, elapsed, most, poll)
	}
	if n := fs.count("ServiceList"); n > most {
		t.Errorf("%d service lists in %s, want at most %d", n, elapsed, most)
	}
	if n := fs.count("ServiceInspect"); n > 20 {
		t.Errorf("%d service inspects, want at most one per Wait (20)", n)
	}
}

// TestViewIsFresh: a wait reads a view fetched after it was asked for,
// never one that began before (which may predate the service's creation
// or its tasks' end).
func TestViewIsFresh(t *testing.T) {
	fs := &fakeSwarm{}
	f := fs.fake()
	list := f.ServiceListFunc
	entered := make(chan struct{}, 1)
	release := make(chan struct{})
	var calls atomic.Int64
	f.ServiceListFunc = func(ctx context.Context, o dswarm.ServiceListOptions) ([]dswarm.Service, error) {
		out, err := list(ctx, o)
		if calls.Add(1) == 1 {
			entered <- struct{}{}
			<-release // the first fetch read the services before the creation below
		}
		return out, err
	}
	r := swarm.New(swarm.Options{Client: func(context.Context) (swarm.API, error) { return f, nil }, Poll: 10 * time.Millisecond})
	ctx := context.Background()
	// A first reader starts a fetch that sees no service yet.
	first := make(chan error, 1)
	go func() {
		_, _, err := r.Ready(ctx, &runtime.Service{Name: "other", Environment: "env2"}, runtime.Handle{})
		first <- err
	}()
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("Ready did not list the environment's services")
	}
	svcs := fs.add("env2", 1, dswarm.TaskStateRunning)
	second := make(chan error, 1)
	var ready bool
	go func() {
		var err error
		ready, _, err = r.Ready(ctx, svcs[0], runtime.Handle{})
		second <- err
	}()
	time.Sleep(30 * time.Millisecond) // the second reader waits while the first fetch is under way
	close(release)
	if err := <-first; err == nil {
		t.Errorf("ready of a service never created: no error")
	}
	if err := <-second; err != nil || !ready {
		t.Errorf("ready of the service created after the first fetch began: %v, %v; want ready from a fetch begun after the call", ready, err)
	}
}

// Package swarm runs services on Docker Swarm through the Engine API: one
// Swarm service per berth service, named <environment>-<service>, on one
// overlay network per environment, with secrets and configs made from the
// environment's files. Every object berth makes carries the environment's
// and the service's labels; berth never touches a Swarm object without
// them. It implements runtime.Runner.
package swarm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"syscall"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/swarm"

	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/runtime"
)

// Labels on every Swarm object berth makes (the container runner's keys).
const (
	LabelEnvironment = "dev.berth.environment"
	LabelService     = "dev.berth.service"
	// LabelImageID is the local image a service was deployed from, so that a
	// rebuild changes the spec and rolls the service.
	LabelImageID = "dev.berth.image-id"
)

// ClientFunc returns the client of the swarm manager berth talks to.
type ClientFunc func(ctx context.Context) (API, error)

// ImageFunc maps a service's swarm.image to an image reference, the
// manifest image's registry (empty for none) and how the user makes a
// missing image.
type ImageFunc func(image string) (ref, registry, hint string, err error)

// Options configure a Runner.
type Options struct {
	Client ClientFunc
	// Image, if nil, takes swarm.image as the reference.
	Image ImageFunc
	// Progress receives pull progress; nil discards it.
	Progress io.Writer
	// Poll is how often the runner looks at the task list while it waits;
	// default 50 ms.
	Poll time.Duration
}

// Runner is the swarm runner.
type Runner struct {
	opts  Options
	views views
	// nodes are the swarm's other nodes, once known (otherNodes).
	nodesMu sync.Mutex
	nodes   *[]string
	// networks are the environments' overlay networks by environment,
	// once found or made (ensureNetwork).
	netMu    sync.Mutex
	networks map[string]string
}

// New returns a swarm runner.
func New(opts Options) *Runner {
	if opts.Poll == 0 {
		opts.Poll = 50 * time.Millisecond
	}
	return &Runner{opts: opts}
}

// Name is the Swarm service name of svc.
func Name(svc *runtime.Service) string { return svc.Environment + "-" + svc.Name }

// NetworkName is the overlay network of an environment.
func NetworkName(environment string) string { return environment + "-berth" }

func specOf(svc *runtime.Service) (*metadata.SwarmSpec, error) {
	if svc.Swarm == nil || svc.Swarm.Image == "" {
		return nil, fmt.Errorf("service %s runs on swarm but names no swarm.image in berth.yaml", svc.Name)
	}
	return svc.Swarm, nil
}

// Detail is what the swarm runner knows of a service: its current tasks
// and, while it runs, how many of them are up.
type Detail struct {
	Tasks []Task `json:"tasks,omitempty"`
	// Summary is "swarm service 0123456789ab, 2/2 tasks".
	Summary string `json:"-"`
}

// Describe is the summary a running service's status line shows.
func (d Detail) Describe() string { return d.Summary }

// Task is one task of a swarm service: where it runs, how it stands, what
// went wrong and which image (by digest or ID) it runs.
type Task struct {
	ID      string `json:"id"`
	Slot    int    `json:"slot"`
	Node    string `json:"node"`
	State   string `json:"state"`
	Desired string `json:"desired_state"`
	Error   string `json:"error,omitempty"`
	Image   string `json:"image,omitempty"`
	// Health is Docker's health of the task's container (starting,
	// healthy, unhealthy) where its image has a HEALTHCHECK.
	Health string `json:"health,omitempty"`
	// HealthOutput is the last output of a check that did not pass.
	HealthOutput string `json:"-"`
	// Ports are the task's host-mode published ports, PUBLISHED:TARGET/PROTOCOL.
	Ports []string `json:"ports,omitempty"`
}

func labels(svc *runtime.Service) map[string]string {
	return map[string]string{LabelEnvironment: svc.Environment, LabelService: svc.Name}
}

func owned(svc *runtime.Service, l map[string]string) bool {
	return l[LabelEnvironment] == svc.Environment && l[LabelService] == svc.Name
}

// ForeignServiceError means a Swarm service has the name berth would give a
// service but was not made by berth for it.
type ForeignServiceError struct {
	Service, Swarm string
}

func (e *ForeignServiceError) Error() string {
	return fmt.Sprintf("a swarm service named %s exists that berth did not create for service %s: berth leaves it alone; remove or rename it (docker service rm %s) if it is not needed", e.Swarm, e.Service, e.Swarm)
}

// find inspects the Swarm service of svc: nil when there is none, and a
// *ForeignServiceError with the service when it is not berth's.
func (r *Runner) find(ctx context.Context, c API, svc *runtime.Service) (*swarm.Service, error) {
	s, _, err := c.ServiceInspectWithRaw(ctx, Name(svc), swarm.ServiceInspectOptions{})
	if cerrdefs.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("inspect swarm service %s: %w", Name(svc), err)
	}
	// The name lookup also matches an ID prefix: only an exact name counts.
	if s.Spec.Name != Name(svc) {
		return nil, nil
	}
	if !owned(svc, s.Spec.Labels) {
		return &s, &ForeignServiceError{Service: svc.Name, Swarm: Name(svc)}
	}
	return &s, nil
}

func (r *Runner) client(ctx context.Context) (API, error) { return r.opts.Client(ctx) }

func (r *Runner) tasks(ctx context.Context, c API, serviceID string) ([]swarm.Task, error) {
	ts, err := c.TaskList(ctx, swarm.TaskListOptions{Filters: serviceFilter(serviceID)})
	if err != nil {
		return nil, fmt.Errorf("list the tasks of swarm service %s: %w", shortID(serviceID), err)
	}
	sortTasks(ts)
	return ts, nil
}

// active says whether a task is wanted and not yet ended.
func active(t swarm.Task) bool {
	return t.DesiredState == swarm.TaskStateRunning && !terminal(t.Status.State)
}

func terminal(s swarm.TaskState) bool {
	switch s {
	case swarm.TaskStateComplete, swarm.TaskStateShutdown, swarm.TaskStateFailed,
		swarm.TaskStateRejected, swarm.TaskStateRemove, swarm.TaskStateOrphaned:
		return true
	}
	return false
}

func replicas(s *swarm.Service) uint64 {
	if s.Spec.Mode.Replicated != nil && s.Spec.Mode.Replicated.Replicas != nil {
		return *s.Spec.Mode.Replicated.Replicas
	}
	return 0
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

func handleOf(svc *runtime.Service, s *swarm.Service) runtime.Handle {
	return runtime.Handle{Service: svc.Name, Runner: metadata.RunnerSwarm, ID: s.ID, StartedAt: s.Meta.UpdatedAt}
}

// running says whether a service counts as running: it wants tasks and
// has not ended them all (a service just created has no task yet).
func running(s *swarm.Service, ts []swarm.Task) bool {
	if replicas(s) == 0 {
		return false
	}
	if len(ts) == 0 {
		return true
	}
	for _, t := range ts {
		if active(t) {
			return true
		}
	}
	return false
}

// Inspect reports the service and its tasks from the swarm.
func (r *Runner) Inspect(ctx context.Context, svc *runtime.Service) (runtime.State, error) {
	st := runtime.State{Name: svc.Name, State: runtime.Stopped, Runner: metadata.RunnerSwarm}
	c, err := r.client(ctx)
	if err != nil {
		return st, err
	}
	s, err := r.find(ctx, c, svc)
	var fe *ForeignServiceError
	if errors.As(err, &fe) {
		st.Reason = fe.Error()
		return st, nil
	}
	if err != nil || s == nil {
		return st, err
	}
	ts, err := r.tasks(ctx, c, s.ID)
	if err != nil {
		return st, err
	}
	h := handleOf(svc, s)
	st.Handle = &h
	detail := Detail{Tasks: taskStates(ts)}
	taskHealth(ctx, c, ts, detail.Tasks)
	st.Detail = detail
	up := 0
	for _, t := range ts {
		if t.DesiredState == swarm.TaskStateRunning && t.Status.State == swarm.TaskStateRunning {
			up++
		}
	}
	if running(s, ts) {
		st.State = runtime.Running
		detail.Summary = fmt.Sprintf("swarm service %s, %d/%d tasks", shortID(s.ID), up, replicas(s))
		st.Detail = detail
		t := h.StartedAt
		st.StartedAt = &t
		return st, nil
	}
	st.Reason = fmt.Sprintf("swarm service %s has no task running", shortID(s.ID))
	if last := lastEnded(ts); last != nil {
		st.Reason += fmt.Sprintf(" (its last task %s)", describeEnd(*last))
	}
	return st, nil
}

func taskStates(ts []swarm.Task) []Task {
	var out []Task
	for _, t := range ts {
		if t.DesiredState != swarm.TaskStateRunning && terminal(t.Status.State) && !t.Status.Timestamp.After(time.Now().Add(-time.Minute)) {
			continue // old history, as docker service ps hides it by default
		}
		rt := Task{ID: t.ID, Slot: t.Slot, Node: t.NodeID, State: string(t.Status.State), Desired: string(t.DesiredState), Error: t.Status.Err}
		if t.Spec.ContainerSpec != nil {
			rt.Image = t.Spec.ContainerSpec.Image
		}
		rt.Ports = hostPorts(t)
		out = append(out, rt)
	}
	return out
}

// hostPorts are the host-mode ports a task published. The daemon lists
// each once per address family: the same port twice, or two ports where
// the families' allocators disagree (the task's container says which is
// which; the task list does not), and then both are shown.
func hostPorts(t swarm.Task) []string {
	var out []string
	seen := map[string]bool{}
	for _, p := range t.Status.PortStatus.Ports {
		s := fmt.Sprintf("%d:%d/%s", p.PublishedPort, p.TargetPort, p.Protocol)
		if p.PublishMode == swarm.PortConfigPublishModeHost && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// lastEnded is the most recently ended task.
func lastEnded(ts []swarm.Task) *swarm.Task {
	var last *swarm.Task
	for i := range ts {
		if terminal(ts[i].Status.State) && (last == nil || ts[i].Status.Timestamp.After(last.Status.Timestamp)) {
			last = &ts[i]
		}
	}
	return last
}

func describeEnd(t swarm.Task) string {
	if t.Status.ContainerStatus != nil && (t.Status.State == swarm.TaskStateFailed || t.Status.State == swarm.TaskStateComplete) {
		return exitOf(t).String()
	}
	if t.Status.Err != "" {
		return fmt.Sprintf("%s: %s", t.Status.State, t.Status.Err)
	}
	return string(t.Status.State)
}

// exitOf reads a task's exit status as the shell does: 128+N is signal N.
func exitOf(t swarm.Task) runtime.Exit {
	if t.Status.ContainerStatus == nil {
		return runtime.Exit{Unknown: true}
	}
	code := t.Status.ContainerStatus.ExitCode
	if code > 128 && code < 128+65 {
		return runtime.Exit{Signal: syscall.Signal(code - 128)}
	}
	return runtime.Exit{Code: code}
}

// Wait returns when the service of h has no task left that runs or will
// run, with the exit of the last one to end. It reads the view of the
// service's environment, which the other waits of a start share.
func (r *Runner) Wait(ctx context.Context, h runtime.Handle) (runtime.Exit, error) {
	c, err := r.client(ctx)
	if err != nil {
		return runtime.Exit{}, err
	}
	s, _, err := c.ServiceInspectWithRaw(ctx, h.ID, swarm.ServiceInspectOptions{})
	if cerrdefs.IsNotFound(err) {
		return runtime.Exit{}, runtime.ErrNotRunning
	}
	if err != nil {
		return runtime.Exit{}, fmt.Errorf("inspect swarm service %s: %w", shortID(h.ID), err)
	}
	env := s.Spec.Labels[LabelEnvironment]
	if env == "" {
		return r.waitAlone(ctx, c, h)
	}
	for {
		snap, err := r.view(ctx, c, env)
		if err != nil {
			return runtime.Exit{}, err
		}
		s := snap.byID[h.ID]
		if s == nil {
			// Removed, or no longer labelled as the environment's.
			return r.waitAlone(ctx, c, h)
		}
		ts := snap.tasks[h.ID]
		if !running(s, ts) {
			if last := lastEnded(ts); last != nil {
				return exitOf(*last), nil
			}
			return runtime.Exit{}, runtime.ErrNotRunning
		}
	}
}

// waitAlone is Wait for a service outside its environment's view: it
// polls the service and its tasks itself.
func (r *Runner) waitAlone(ctx context.Context, c API, h runtime.Handle) (runtime.Exit, error) {
	for {
		s, _, err := c.ServiceInspectWithRaw(ctx, h.ID, swarm.ServiceInspectOptions{})
		if cerrdefs.IsNotFound(err) {
			return runtime.Exit{}, runtime.ErrNotRunning
		}
		if err != nil {
			return runtime.Exit{}, fmt.Errorf("inspect swarm service %s: %w", shortID(h.ID), err)
		}
		ts, err := r.tasks(ctx, c, s.ID)
		if err != nil {
			// A stop removes the service first: gone is not running.
			if _, _, ierr := c.ServiceInspectWithRaw(ctx, h.ID, swarm.ServiceInspectOptions{}); cerrdefs.IsNotFound(ierr) {
				return runtime.Exit{}, runtime.ErrNotRunning
			}
			return runtime.Exit{}, err
		}
		if !running(&s, ts) {
			if last := lastEnded(ts); last != nil {
				return exitOf(*last), nil
			}
			return runtime.Exit{}, runtime.ErrNotRunning
		}
		if err := r.pause(ctx); err != nil {
			return runtime.Exit{}, err
		}
	}
}

func (r *Runner) pause(ctx context.Context) error {
	t := time.NewTimer(r.opts.Poll)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Run is not possible: a swarm service has no terminal of berth's.
func (r *Runner) Run(ctx context.Context, svc *runtime.Service, stdio runtime.Stdio, launched func(runtime.Handle)) (runtime.Exit, error) {
	return runtime.Exit{}, fmt.Errorf("service %s runs on swarm, which cannot attach it to this terminal: start it detached and follow it with berth logs -f %s", svc.Name, svc.Name)
}

// Forget removes the service of h when none of its tasks runs any more.
func (r *Runner) Forget(ctx context.Context, svc *runtime.Service, h runtime.Handle) error {
	c, err := r.client(ctx)
	if err != nil {
		return err
	}
	s, err := r.find(ctx, c, svc)
	if err != nil || s == nil || s.ID != h.ID {
		var fe *ForeignServiceError
		if errors.As(err, &fe) {
			return nil
		}
		return err
	}
	ts, err := r.tasks(ctx, c, s.ID)
	if err != nil || running(s, ts) {
		return err
	}
	return r.remove(ctx, c, svc, s.ID)
}

// remove removes the service and then what berth made for it alone.
func (r *Runner) remove(ctx context.Context, c API, svc *runtime.Service, id string) error {
	if err := RemoveService(ctx, c, id); err != nil {
		return fmt.Errorf("remove swarm service %s: %w", Name(svc), err)
	}
	r.pruneFiles(context.WithoutCancel(ctx), c, svc, nil)
	r.pruneNetwork(context.WithoutCancel(ctx), c, svc.Environment)
	return nil
}

// Logs reads what the service's tasks wrote, each line prefixed with the
// task it came from.
func (r *Runner) Logs(ctx context.Context, svc *runtime.Service, opts runtime.LogOptions) (io.ReadCloser, error) {
	c, err := r.client(ctx)
	if err != nil {
		return nil, err
	}
	s, err := r.find(ctx, c, svc)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return nil, fmt.Errorf("service %s has no swarm service (%s): start it first", svc.Name, Name(svc))
	}
	return r.serviceLogs(ctx, c, svc, s.ID, opts)
}

// Capabilities: no foreground (a swarm task has no terminal of berth's), log
// lines carry the daemon's times, and Swarm sends KILL itself when the stop
// grace period ends.
func (r *Runner) Capabilities() runtime.Capabilities {
	return runtime.Capabilities{LogLineTimes: true}
}

var (
	_ runtime.Runner           = (*Runner)(nil)
	_ runtime.ReadyReporter    = (*Runner)(nil)
	_ runtime.RollingRestarter = (*Runner)(nil)
)

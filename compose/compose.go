// Package compose runs a berth service as a set of docker compose services
// (the cloud-local db: db, minio and mc). Compose itself runs as the user's
// `docker compose` (v2) or `docker-compose` (v1), with the environment's name
// as project name; berth reads the containers back from the Engine API by
// compose's project and service labels, which v1 and v2 both set. It
// implements runtime.Runner.
package compose

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	dcontainer "github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	"github.com/berthdev/berth/images/engine"
	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/runtime"
	"github.com/berthdev/berth/runtime/logs"
)

// Labels compose puts on its containers.
const (
	LabelProject = "com.docker.compose.project"
	LabelService = "com.docker.compose.service"
)

// Options configure a Runner.
type Options struct {
	// Client returns the client of the daemon compose talks to.
	Client func(ctx context.Context) (*engine.Client, error)
	// Command is compose's argv prefix; empty means detect it once.
	Command []string
	// Root is the directory compose.file is relative to; svc.Dir when empty.
	Root string
}

// Runner is the compose runner.
type Runner struct {
	opts      Options
	once      sync.Once
	command   []string
	detectErr error
}

var _ runtime.ReadyReporter = (*Runner)(nil)

// New returns a compose runner.
func New(opts Options) *Runner { return &Runner{opts: opts} }

// Detect finds compose: the docker compose plugin (v2), else docker-compose (v1).
func Detect(ctx context.Context) ([]string, error) {
	for _, c := range [][]string{{"docker", "compose"}, {"docker-compose"}} {
		if _, err := exec.LookPath(c[0]); err != nil {
			continue
		}
		cmd := exec.CommandContext(ctx, c[0], append(c[1:], "version")...)
		if err := cmd.Run(); err == nil {
			return c, nil
		}
	}
	return nil, errors.New("neither `docker compose` (v2 plugin) nor `docker-compose` (v1) was found: install one of them (Debian: apt install docker-compose)")
}

func (r *Runner) compose(ctx context.Context) ([]string, error) {
	if len(r.opts.Command) > 0 {
		return r.opts.Command, nil
	}
	r.once.Do(func() { r.command, r.detectErr = Detect(ctx) })
	return r.command, r.detectErr
}

// Project is the compose project name of an environment: compose v1 drops
// every character but a-z, 0-9, _ and -, so berth does the same and finds
// the containers by the same name under both versions.
func Project(env string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(env) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-' {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// Detail is what the compose runner knows of a running service: the
// compose services of its project that run, and the names of the
// service's containers, running or not, as the OQTOPUS CLI's status lists
// them (docker ps -a by the project and service labels).
type Detail struct {
	Containers     []string `json:"containers,omitempty"`
	ContainerNames []string `json:"container_names,omitempty"`
}

// Describe names the service's containers, "lab_db_1, lab_minio_1", or,
// where the daemon gave no names, the running compose services.
func (d Detail) Describe() string {
	if len(d.ContainerNames) > 0 {
		return strings.Join(d.ContainerNames, ", ")
	}
	return strings.Join(d.Containers, ", ")
}

type target struct {
	file    string
	dir     string
	project string
	names   []string // the compose services this berth service stands for
}

func (r *Runner) target(svc *runtime.Service) (*target, error) {
	spec := svc.Compose
	if spec == nil || spec.File == "" || len(spec.Services) == 0 {
		return nil, fmt.Errorf("service %s runs through compose but lacks compose.file or compose.services in berth.yaml", svc.Name)
	}
	if svc.Host != "" {
		return nil, fmt.Errorf("service %s: compose services run on the local daemon; remove host: %s", svc.Name, svc.Host)
	}
	root := r.opts.Root
	if root == "" {
		root = svc.Dir
	}
	file := spec.File
	if !filepath.IsAbs(file) {
		file = filepath.Join(root, filepath.FromSlash(file))
	}
	return &target{file: file, dir: root, project: Project(svc.Environment), names: spec.Services}, nil
}

// load reads the compose file and checks that it declares the services.
func (t *target) load(svcName string, env []string) (*composeFile, error) {
	f, err := readComposeFile(t.file, env)
	if err != nil {
		return nil, fmt.Errorf("service %s: %w", svcName, err)
	}
	for _, n := range t.names {
		if _, ok := f.Services[n]; !ok {
			return nil, fmt.Errorf("service %s: compose file %s declares no service %q (it has: %s): fix compose.services in berth.yaml", svcName, t.file, n, strings.Join(f.names(), ", "))
		}
	}
	return f, nil
}

func (r *Runner) run(ctx context.Context, svc *runtime.Service, t *target, args ...string) error {
	argv, err := r.compose(ctx)
	if err != nil {
		return err
	}
	full := append(append([]string(nil), argv[1:]...), "--project-name", t.project, "--file", t.file)
	full = append(full, args...)
	cmd := exec.CommandContext(ctx, argv[0], full...)
	cmd.Dir = t.dir
	cmd.Env = append(os.Environ(), svc.OwnEnv...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("service %s: %s %s failed: %w\n%s", svc.Name, strings.Join(argv, " "), strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return nil
}

// containers are the project's containers of t's services, by service.
func (r *Runner) containers(ctx context.Context, t *target) (*engine.Client, map[string]dcontainer.Summary, error) {
	c, err := r.opts.Client(ctx)
	if err != nil {
		return nil, nil, err
	}
	list, err := c.ContainerList(ctx, dcontainer.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", LabelProject+"="+t.project))})
	if err != nil {
		return nil, nil, fmt.Errorf("list the containers of compose project %s: %w", t.project, err)
	}
	want := map[string]bool{}
	for _, n := range t.names {
		want[n] = true
	}
	out := map[string]dcontainer.Summary{}
	for _, s := range list {
		n := s.Labels[LabelService]
		if !want[n] {
			continue
		}
		// With scale > 1 a running one wins over an exited one.
		if prev, ok := out[n]; !ok || prev.State != "running" {
			out[n] = s
		}
	}
	return c, out, nil
}

// containerNames lists the found containers' names in the order of the
// service's compose services (the daemon reports a name with a leading /).
func containerNames(t *target, found map[string]dcontainer.Summary) []string {
	var names []string
	for _, n := range t.names {
		if s, ok := found[n]; ok && len(s.Names) > 0 {
			names = append(names, strings.TrimPrefix(s.Names[0], "/"))
		}
	}
	return names
}

func handleOf(svc *runtime.Service, t *target, found map[string]dcontainer.Summary) *runtime.Handle {
	if len(found) == 0 {
		return nil
	}
	var ids []string
	var started time.Time
	for _, n := range t.names {
		if s, ok := found[n]; ok {
			ids = append(ids, s.ID)
			if c := time.Unix(s.Created, 0); started.IsZero() || c.Before(started) {
				started = c
			}
		}
	}
	return &runtime.Handle{Service: svc.Name, Runner: metadata.RunnerCompose, ID: strings.Join(ids, ","), StartedAt: started}
}

// Inspect reports the project's containers: running when any of the
// service's compose services runs; Detail lists those that run.
func (r *Runner) Inspect(ctx context.Context, svc *runtime.Service) (runtime.State, error) {
	st := runtime.State{Name: svc.Name, State: runtime.Stopped}
	t, err := r.target(svc)
	if err != nil {
		return st, err
	}
	_, found, err := r.containers(ctx, t)
	if err != nil {
		return st, err
	}
	st.Handle = handleOf(svc, t, found)
	var running, down []string
	for _, n := range t.names {
		if s, ok := found[n]; ok && s.State == "running" {
			running = append(running, n)
		} else {
			down = append(down, n)
		}
	}
	if len(running) == 0 {
		if st.Handle != nil {
			st.Reason = "compose services " + strings.Join(t.names, ", ") + " are not running"
		}
		return st, nil
	}
	st.State, st.Detail = runtime.Running, Detail{Containers: running, ContainerNames: containerNames(t, found)}
	if !st.Handle.StartedAt.IsZero() {
		at := st.Handle.StartedAt
		st.StartedAt = &at
	}
	if len(down) > 0 {
		st.Reason = "not running: " + strings.Join(down, ", ") + " (berth restart " + svc.Name + " brings them up)"
	}
	return st, nil
}

// Start runs `up -d` for the service's compose services and returns once
// compose has launched them; Ready says when they run and are healthy,
// which the manager waits for within the service's start_timeout.
func (r *Runner) Start(ctx context.Context, svc *runtime.Service) (runtime.Handle, error) {
	t, err := r.target(svc)
	if err != nil {
		return runtime.Handle{}, err
	}
	if _, err := t.load(svc.Name, append(os.Environ(), svc.OwnEnv...)); err != nil {
		return runtime.Handle{}, err
	}
	// The service runs while any of its compose services does (as Inspect
	// says); `up` would quietly leave that launch to stand for this one.
	if _, found, err := r.containers(ctx, t); err != nil {
		return runtime.Handle{}, err
	} else if slices.ContainsFunc(t.names, func(n string) bool { return found[n].State == "running" }) {
		return runtime.Handle{}, &runtime.AlreadyRunningError{Service: svc.Name}
	}
	if err := r.run(ctx, svc, t, append([]string{"up", "-d"}, t.names...)...); err != nil {
		return runtime.Handle{}, err
	}
	_, found, err := r.containers(ctx, t)
	if err != nil {
		return runtime.Handle{}, err
	}
	h := handleOf(svc, t, found)
	if h == nil {
		return runtime.Handle{}, fmt.Errorf("service %s: compose up created no container of %s", svc.Name, strings.Join(t.names, ", "))
	}
	return *h, nil
}

// Ready reports whether each of the service's compose services runs and,
// where it has a health check, is healthy (runtime.ReadyReporter). A
// container that has exited ends the wait: the start check reports it.
func (r *Runner) Ready(ctx context.Context, svc *runtime.Service, h runtime.Handle) (bool, string, error) {
	t, err := r.target(svc)
	if err != nil {
		return false, "", err
	}
	c, found, err := r.containers(ctx, t)
	if err != nil {
		return false, "", err
	}
	waiting, err := notReady(ctx, c, t, found)
	if err != nil {
		return false, "", fmt.Errorf("service %s: %w", svc.Name, err)
	}
	if len(waiting) > 0 {
		return false, "compose services " + strings.Join(waiting, ", "), nil
	}
	return true, "", nil
}

// notReady lists the compose services not yet running and healthy; none
// when one has exited (the start check reports that).
func notReady(ctx context.Context, c *engine.Client, t *target, found map[string]dcontainer.Summary) ([]string, error) {
	var waiting []string
	for _, n := range t.names {
		s, ok := found[n]
		if !ok {
			waiting = append(waiting, n)
			continue
		}
		if s.State == "exited" || s.State == "dead" {
			return nil, nil
		}
		if s.State != "running" {
			waiting = append(waiting, n)
			continue
		}
		info, err := c.ContainerInspect(ctx, s.ID)
		if err != nil {
			return nil, fmt.Errorf("inspect compose container of %s: %w", n, err)
		}
		if h := info.State.Health; h != nil {
			switch h.Status {
			case "healthy":
			case "unhealthy":
				return nil, fmt.Errorf("compose service %s is unhealthy (its health check failed)", n)
			default:
				waiting = append(waiting, n)
			}
		}
	}
	return waiting, nil
}

// Run is not offered: a compose project has no single terminal.
func (r *Runner) Run(ctx context.Context, svc *runtime.Service, stdio runtime.Stdio, launched func(runtime.Handle)) (runtime.Exit, error) {
	return runtime.Exit{}, fmt.Errorf("%s runs through compose and cannot run in the foreground: use berth start %s", svc.Name, svc.Name)
}

// Wait returns once all of h's containers have stopped.
func (r *Runner) Wait(ctx context.Context, h runtime.Handle) (runtime.Exit, error) {
	c, err := r.opts.Client(ctx)
	if err != nil {
		return runtime.Exit{}, err
	}
	ids := strings.Split(h.ID, ",")
	type result struct {
		exit runtime.Exit
		err  error
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := make(chan result, len(ids))
	for _, id := range ids {
		go func() {
			waitCh, errCh := c.ContainerWait(wctx, id, dcontainer.WaitConditionNotRunning)
			select {
			case res := <-waitCh:
				ch <- result{exit: runtime.ExitOfCode(res.StatusCode)}
			case err := <-errCh:
				if cerrdefs.IsNotFound(err) {
					err = runtime.ErrNotRunning
				}
				ch <- result{err: err}
			}
		}()
	}
	// The service runs while any of its containers does (as Inspect says), so
	// it has exited once all have; the first exit is the one reported.
	var first *runtime.Exit
	var last error
	for range ids {
		res := <-ch
		if res.err == nil {
			if first == nil {
				first = &res.exit
			}
			continue
		}
		last = res.err
		if !errors.Is(res.err, runtime.ErrNotRunning) {
			return runtime.Exit{}, res.err
		}
	}
	if first != nil {
		return *first, nil
	}
	return runtime.Exit{}, last
}

// Logs returns what the service's compose containers wrote, one after the
// other in compose.services order, each line prefixed with its service.
func (r *Runner) Logs(ctx context.Context, svc *runtime.Service, opts runtime.LogOptions) (io.ReadCloser, error) {
	t, err := r.target(svc)
	if err != nil {
		return nil, err
	}
	c, found, err := r.containers(ctx, t)
	if err != nil {
		return nil, err
	}
	if len(found) == 0 {
		return nil, fmt.Errorf("service %s has no compose containers in project %s: start it first", svc.Name, t.project)
	}
	names := make([]string, 0, len(found))
	for n := range found {
		names = append(names, n)
	}
	sort.SliceStable(names, func(i, j int) bool { return indexOf(t.names, names[i]) < indexOf(t.names, names[j]) })
	// The daemon has already cut each stream to opts' tail and since.
	var sources []logs.Source
	for _, n := range names {
		rc, err := engine.Logs(ctx, c, found[n].ID, engine.LogOptions{Follow: opts.Follow, Tail: opts.Tail, Since: opts.Since})
		if err != nil {
			for _, s := range sources {
				s.Reader.(io.Closer).Close()
			}
			return nil, err
		}
		sources = append(sources, logs.Source{Name: n, Reader: rc})
	}
	return logs.Open(ctx, sources, logs.Options{Tail: -1, Follow: opts.Follow}), nil
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return len(s)
}

// Capabilities says what the runner can do beyond the Runner contract.
func (r *Runner) Capabilities() runtime.Capabilities {
	return runtime.Capabilities{LogLineTimes: true, StopWithoutKill: true}
}

package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/runtime/health"
)

// DefaultStartCheck is how long the services launched by one start are
// watched, all together, for an immediate exit, unless a service's
// start_check says otherwise.
const DefaultStartCheck = metadata.DefaultStartCheck

// ReadyFunc waits until a launched service is ready. The lifecycle calls it
// after each launch and before launching any service started after it; an
// error fails the start. Health checks plug in here.
type ReadyFunc func(ctx context.Context, svc *Service, h Handle) error

// NotHealthyError means a started service did not become healthy in time.
// It is left running.
type NotHealthyError struct {
	Service string
	Err     error // the *health.WaitError
}

func (e *NotHealthyError) Error() string {
	return fmt.Sprintf("%v; %s was left running: see berth logs %s and berth health %s, or stop it with berth stop %s", e.Err, e.Service, e.Service, e.Service, e.Service)
}

func (e *NotHealthyError) Unwrap() error { return e.Err }

// ready waits for a launched service: the Ready hook if set, else its
// runner's own readiness (WaitRunnerReady) and then its health check (if
// any), each until ready within its start_timeout. The wait
// ends at once if the service's process ends, which fails the start with
// its exit status and last lines. A passing check counts only while the
// service runs, and, where its runner can tell, only on a port it holds.
func (m *Manager) ready(ctx context.Context, l launched) (*health.Result, error) {
	svc, run, h := l.svc, l.run, l.h
	if l.exit != nil {
		defer l.exit.release()
	}
	if m.Ready != nil {
		return nil, m.Ready(ctx, svc, h)
	}
	spec := m.Env.Manifest.Services[svc.Name]
	if spec != nil {
		if err := WaitRunnerReady(ctx, run, svc, h, spec.StartWait()); err != nil {
			return nil, err
		}
	}
	if spec == nil || spec.Health == nil {
		return nil, nil
	}
	hc, err := m.healthCheck(svc.Name)
	if err != nil {
		return nil, err
	}
	w := l.exit
	if w == nil {
		w = watchExit(ctx, run, h, 1)
		defer w.release()
	}
	exited := w.exited
	stopNotes := m.noteWhileWaiting(svc.Name, spec.StartWait())
	r, err := health.WaitHealthy(ctx, hc, health.WaitOptions{
		Options: health.Options{Dir: svc.Dir, Env: svc.Env, Exec: m.Exec},
		Service: svc.Name, Timeout: spec.StartWait(), Exited: exited,
	})
	stopNotes()
	if err == nil {
		select {
		case <-exited:
			err = health.ErrExited
		default:
			err = m.checkOwner(ctx, l, hc)
		}
	}
	if err != nil {
		if errors.Is(err, health.ErrTimeout) {
			return nil, &NotHealthyError{Service: svc.Name, Err: err}
		}
		if errors.Is(err, health.ErrExited) {
			<-exited
			run.Forget(ctx, svc, h)
			return nil, &StartFailedError{Service: svc.Name, Exit: w.exit, LastLines: m.lastLines(ctx, l, 10)}
		}
		return nil, err
	}
	return &r, nil
}

// ListenerChecker is implemented by runners that can tell whether a local
// port is held by a service's own processes (host processes).
type ListenerChecker interface {
	CheckListener(ctx context.Context, svc *Service, h Handle, port int) error
}

// checkOwner fails a passing tcp or http check on this machine whose port
// is not held by the service itself.
func (m *Manager) checkOwner(ctx context.Context, l launched, hc *metadata.HealthCheck) error {
	lc, ok := l.run.(ListenerChecker)
	if !ok {
		return nil
	}
	port, ok := localPort(hc)
	if !ok {
		return nil
	}
	if err := lc.CheckListener(ctx, l.svc, l.h, port); err != nil {
		return fmt.Errorf("%s is not healthy: %w", l.svc.Name, err)
	}
	return nil
}

// localPort is the port a tcp or http check reaches on this machine.
func localPort(hc *metadata.HealthCheck) (int, bool) {
	var hostport string
	switch hc.Type {
	case "tcp":
		hostport = hc.Address
	case "http":
		u, err := url.Parse(hc.URL)
		if err != nil {
			return 0, false
		}
		hostport = u.Host
		if u.Port() == "" {
			port := "80"
			if u.Scheme == "https" {
				port = "443"
			}
			hostport = net.JoinHostPort(u.Hostname(), port)
		}
	default:
		return 0, false
	}
	host, p, err := net.SplitHostPort(hostport)
	if err != nil {
		return 0, false
	}
	port, err := strconv.Atoi(p)
	if err != nil || port <= 0 {
		return 0, false
	}
	if host != "" && host != "localhost" {
		ip := net.ParseIP(host)
		if ip == nil || !(ip.IsLoopback() || ip.IsUnspecified()) {
			return 0, false
		}
	}
	return port, true
}

// confirmHealthy waits, within its start_timeout, until a dependency that
// runs already passes its health check.
func (m *Manager) confirmHealthy(ctx context.Context, name string) error {
	hc, err := m.healthCheck(name)
	if err != nil || hc == nil {
		return err
	}
	_, err = health.WaitHealthy(ctx, hc, health.WaitOptions{
		Options: m.checkOptions(name), Service: name,
		Timeout: m.Env.Manifest.Services[name].StartWait(),
	})
	return err
}

// healthCheck is the service's health check with its variables expanded,
// or nil when it has none.
func (m *Manager) healthCheck(name string) (*metadata.HealthCheck, error) {
	spec := m.Env.Manifest.Services[name]
	if spec == nil || spec.Health == nil {
		return nil, nil
	}
	vars, err := m.Env.Vars(spec.Component)
	if err != nil {
		return nil, fmt.Errorf("service %s: %w", name, err)
	}
	hc, err := health.Expand(spec.Health, vars)
	if err != nil {
		return nil, fmt.Errorf("service %s: %w", name, err)
	}
	return hc, nil
}

// startCheck watches one launched service for its check window
// (start_check) from its launch, or until passed is closed (its health
// check passed: it is up, there is nothing left to wait for); services
// launched by one start are watched at the same time, and while others are
// still being launched or waited for. A service that ends fails with its
// exit status and last log lines, and its record is removed. It returns
// nil when the service still runs at the end of the window.
func (m *Manager) startCheck(ctx context.Context, l launched, passed <-chan struct{}) error {
	if l.exit != nil {
		defer l.exit.release()
	}
	window := m.StartCheck
	if window == 0 {
		window = DefaultStartCheck
		if spec := m.Env.Manifest.Services[l.svc.Name]; spec != nil {
			window = spec.StartCheckWindow()
		}
	}
	if window <= 0 {
		return nil
	}
	cctx, cancel := context.WithTimeout(ctx, window)
	defer cancel()
	w := l.exit
	if w == nil {
		w = watchExit(cctx, l.run, l.h, 1)
		defer w.release()
	}
	select {
	case <-w.end:
	case <-passed:
		return nil // its health check passed: it is up
	case <-cctx.Done():
		return nil // still running when the window closed
	}
	select {
	case <-w.exited:
	default:
		return nil // its wait failed: nothing says it ended
	}
	exit := w.exit
	l.run.Forget(ctx, l.svc, l.h)
	return fmt.Errorf("failed to start '%s': %w", l.svc.Name,
		&StartFailedError{Service: l.svc.Name, Exit: exit, LastLines: m.lastLines(ctx, l, 10)})
}

// lastLines are the last n lines the launch l wrote to its captured
// output, read through its runner as every log is; none when the service
// keeps no output file. The read is of what is written already, so it
// goes on when ctx is cut short by another service's failure.
func (m *Manager) lastLines(ctx context.Context, l launched, n int) []string {
	if l.svc.Log.To != metadata.LogFile {
		return nil
	}
	rc, err := m.Logs(context.WithoutCancel(ctx), l.svc.Name, LogOptions{Tail: n, Output: true, Launch: &l.h})
	if err != nil {
		return nil
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil || len(b) == 0 {
		return nil
	}
	return strings.Split(strings.TrimRight(string(b), "\n"), "\n")
}

package runtime

import (
	"context"
	"fmt"
	"time"

	"github.com/berthdev/berth/runtime/health"
)

// ReadyReporter is a runner that can tell from its own view whether a
// launched service is ready: compose says so once each of its containers
// runs and, where it has a health check, is healthy. Start never waits for
// this; the manager does, within the service's start_timeout, before the
// manifest's own health check.
type ReadyReporter interface {
	// Ready reports whether the service of h is ready; when it is not,
	// waiting says what it waits for. An error ends the wait (a container
	// reported unhealthy).
	Ready(ctx context.Context, svc *Service, h Handle) (ready bool, waiting string, err error)
}

// readyPoll is how often a runner's readiness is asked for.
const readyPoll = 50 * time.Millisecond

// NotReadyError means a runner did not report its service ready within
// the start timeout.
type NotReadyError struct {
	Service, Waiting string
	Timeout          time.Duration
}

func (e *NotReadyError) Error() string {
	return fmt.Sprintf("service %s: %s not ready within %s (raise start_timeout in berth.yaml, or see berth logs %s)", e.Service, e.Waiting, e.Timeout, e.Service)
}

// WaitRunnerReady waits until run, if it is a ReadyReporter, reports svc
// ready, for at most timeout. It returns early, with no error, once the
// service has ended: the start check reports that.
func WaitRunnerReady(ctx context.Context, run Runner, svc *Service, h Handle, timeout time.Duration) error {
	rr, ok := run.(ReadyReporter)
	if !ok {
		return nil
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	exited := make(chan struct{})
	go func() {
		if _, err := run.Wait(wctx, h); err == nil {
			close(exited)
		}
	}()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(readyPoll)
	defer tick.Stop()
	for {
		ready, waiting, err := rr.Ready(ctx, svc, h)
		if err != nil || ready {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-exited:
			return nil
		case <-deadline.C:
			return &NotReadyError{Service: svc.Name, Waiting: waiting, Timeout: timeout}
		case <-tick.C:
		}
	}
}

// HealthReporter is a runner that knows a service's health from its own
// view: Docker runs the health checks of compose containers. The manager
// asks it when the manifest gives the service no health check of its own.
type HealthReporter interface {
	// RunnerHealth returns the result of the runner's own check; nil when
	// the service has none.
	RunnerHealth(ctx context.Context, svc *Service) (*health.Result, error)
}

// Package remote is the runner of services berth does not run, only checks
// (the provisioning guide's remote mode): an http(s) endpoint, with TLS
// and an optional bearer token, or a tcp address. A remote service runs
// while its check passes; dependents wait for that check; start and stop
// have nothing to do. It implements runtime.Runner and declares what it
// cannot do in its capabilities.
package remote

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/berthdev/berth/metadata"
	"github.com/berthdev/berth/runtime"
	"github.com/berthdev/berth/runtime/health"
)

// DefaultTimeout bounds one check when remote.timeout is not set.
const DefaultTimeout = 5 * time.Second

// Runner is the remote runner.
type Runner struct{}

var (
	_ runtime.Runner         = Runner{}
	_ runtime.ReadyReporter  = Runner{}
	_ runtime.HealthReporter = Runner{}
)

// New returns a remote runner.
func New() Runner { return Runner{} }

// Detail is what status shows of a remote service that answers.
type Detail struct {
	Endpoint string `json:"endpoint"`
}

// Describe is "remote https://api.example.org/health".
func (d Detail) Describe() string { return "remote " + d.Endpoint }

// Check runs the service's check once: nil when the endpoint answers.
func Check(ctx context.Context, svc *runtime.Service) error {
	spec := svc.Remote
	if spec == nil || spec.Endpoint == "" {
		return fmt.Errorf("service %s is remote but names no remote.endpoint in berth.yaml", svc.Name)
	}
	kind, target, err := metadata.RemoteTarget(spec.Endpoint)
	if err != nil {
		return fmt.Errorf("service %s: %w", svc.Name, err)
	}
	timeout := time.Duration(spec.Timeout)
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if kind == "tcp" {
		conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", target)
		if err != nil {
			return err
		}
		return conn.Close()
	}
	return checkHTTP(ctx, svc, target)
}

func checkHTTP(ctx context.Context, svc *runtime.Service, url string) error {
	spec := svc.Remote
	tc := &tls.Config{InsecureSkipVerify: spec.InsecureSkipVerify}
	if spec.CA != "" {
		path := inRoot(svc, spec.CA)
		pem, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("read remote.ca of %s: %w", svc.Name, err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return fmt.Errorf("remote.ca of %s: %s holds no PEM certificate", svc.Name, path)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if spec.TokenFile != "" {
		path := inRoot(svc, spec.TokenFile)
		tok, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("read remote.token_file of %s: %w", svc.Name, err)
		}
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: tc, Proxy: http.ProxyFromEnvironment}}
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode >= 400 {
		return fmt.Errorf("http %d", resp.StatusCode)
	}
	return nil
}

func inRoot(svc *runtime.Service, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(svc.Root, filepath.FromSlash(p))
}

// Inspect runs the check: running when it passes, else stopped with the
// reason.
func (Runner) Inspect(ctx context.Context, svc *runtime.Service) (runtime.State, error) {
	st := runtime.State{Name: svc.Name, State: runtime.Stopped}
	endpoint := ""
	if svc.Remote != nil {
		endpoint = svc.Remote.Endpoint
	}
	if err := Check(ctx, svc); err != nil {
		st.Reason = fmt.Sprintf("remote %s: %v", endpoint, err)
		return st, nil
	}
	st.State, st.Detail = runtime.Running, Detail{Endpoint: endpoint}
	return st, nil
}

// Start launches nothing: the service runs elsewhere. The manager's
// readiness wait (Ready) waits for its check.
func (Runner) Start(ctx context.Context, svc *runtime.Service) (runtime.Handle, error) {
	return runtime.Handle{Service: svc.Name, Runner: metadata.RunnerRemote, StartedAt: time.Now()}, nil
}

// Ready reports whether the endpoint answers.
func (Runner) Ready(ctx context.Context, svc *runtime.Service, h runtime.Handle) (bool, string, error) {
	if err := Check(ctx, svc); err != nil {
		return false, "remote " + svc.Remote.Endpoint + " (" + err.Error() + ")", nil
	}
	return true, "", nil
}

// RunnerHealth is the check as `berth health` reports it.
func (Runner) RunnerHealth(ctx context.Context, svc *runtime.Service) (*health.Result, error) {
	start := time.Now()
	err := Check(ctx, svc)
	r := &health.Result{Healthy: err == nil, Kind: "remote", Detail: "remote " + svc.Remote.Endpoint, Duration: time.Since(start), At: start}
	if err != nil {
		r.Detail += ": " + err.Error()
	}
	return r, nil
}

// Run is not offered: berth does not run a remote service.
func (Runner) Run(ctx context.Context, svc *runtime.Service, stdio runtime.Stdio, launched func(runtime.Handle)) (runtime.Exit, error) {
	return runtime.Exit{}, fmt.Errorf("%s is remote: berth does not run it, so it has no foreground", svc.Name)
}

// Wait has nothing to wait for: berth launched nothing.
func (Runner) Wait(ctx context.Context, h runtime.Handle) (runtime.Exit, error) {
	return runtime.Exit{}, runtime.ErrNotRunning
}

// Stop does nothing: berth does not stop what it did not start.
func (Runner) Stop(ctx context.Context, svc *runtime.Service, h runtime.Handle, opts runtime.StopOptions) error {
	return nil
}

// Forget has no record to remove.
func (Runner) Forget(ctx context.Context, svc *runtime.Service, h runtime.Handle) error { return nil }

// Logs are the remote service's own: berth keeps none.
func (Runner) Logs(ctx context.Context, svc *runtime.Service, opts runtime.LogOptions) (io.ReadCloser, error) {
	return nil, errors.New("service " + svc.Name + " is remote: berth keeps no log of it")
}

// Capabilities: no foreground, no logs of its own, nothing to stop.
func (Runner) Capabilities() runtime.Capabilities {
	return runtime.Capabilities{Unmanaged: true}
}

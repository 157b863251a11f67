// Package health owns health checks: running one check of a service's
// metadata.HealthCheck (http, tcp, command or file), waiting for one or many
// services to become healthy, and rendering the lines `berth health` prints.
// It knows nothing of how services are run: callers say whether a process is
// still alive and which environment and directory a command check runs in.
package health

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berthdev/berth/metadata"
)

// Defaults for a check that leaves them out. The interval is the one a
// monitor (berth health --watch) uses; waits after a start poll faster, see
// DefaultStartInterval.
const (
	DefaultTimeout  = 5 * time.Second
	DefaultInterval = 10 * time.Second
	DefaultRetries  = 3
	DefaultStatus   = http.StatusOK
)

// Options are what a check needs from the service it checks.
type Options struct {
	// Dir is the working directory of a command check and the base of a
	// relative file check path; empty means berth's working directory.
	Dir string
	// Env is the environment of a command check (KEY=VALUE); nil means berth's own.
	Env []string
	// Timeout bounds one attempt; zero means the check's timeout, else DefaultTimeout.
	Timeout time.Duration
	// Exec runs a command check that names in: inside that container or
	// compose service; without it such a check fails, saying so.
	Exec InExec
}

// InExec runs argv inside the container or compose service in names
// (SERVICE or SERVICE/COMPOSE_SERVICE), writing its output to out, and
// returns its exit code.
type InExec func(ctx context.Context, in string, argv, env []string, dir string, out io.Writer) (int, error)

// Result is the outcome of one check attempt.
type Result struct {
	Healthy bool
	// Kind is the check's type: http, tcp, command or file.
	Kind string
	// Detail says what was seen: "http 200",
	// "tcp 127.0.0.1:51020: connection refused", "exit code 3 (expected 0)".
	Detail   string
	Duration time.Duration
	At       time.Time
}

// MarshalJSON writes the duration in milliseconds, which is what people and
// scripts read; nanoseconds would be noise.
func (r Result) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Healthy    bool      `json:"healthy"`
		Kind       string    `json:"kind"`
		Detail     string    `json:"detail"`
		DurationMS float64   `json:"duration_ms"`
		At         time.Time `json:"at"`
	}{r.Healthy, r.Kind, r.Detail, float64(r.Duration.Microseconds()) / 1000, r.At})
}

// Timeout is the per-attempt timeout of hc.
func Timeout(hc *metadata.HealthCheck) time.Duration {
	if hc.Timeout > 0 {
		return time.Duration(hc.Timeout)
	}
	return DefaultTimeout
}

// Interval is the monitoring interval of hc.
func Interval(hc *metadata.HealthCheck) time.Duration {
	if hc.Interval > 0 {
		return time.Duration(hc.Interval)
	}
	return DefaultInterval
}

// Retries is how many failures in a row a monitor waits for before it calls
// a service unhealthy.
func Retries(hc *metadata.HealthCheck) int {
	if hc.Retries > 0 {
		return hc.Retries
	}
	return DefaultRetries
}

// Expand returns a copy of hc with ${VAR} in its url, address, command and
// path replaced through lookup (metadata.Env.Vars gives one).
func Expand(hc *metadata.HealthCheck, lookup func(string) (string, bool)) (*metadata.HealthCheck, error) {
	out := *hc
	var err error
	one := func(s string) string {
		if err != nil || s == "" {
			return s
		}
		var v string
		v, err = metadata.Expand(s, lookup)
		return v
	}
	out.URL = one(hc.URL)
	out.Address = one(hc.Address)
	out.Path = one(hc.Path)
	out.Command = nil
	for _, a := range hc.Command {
		out.Command = append(out.Command, one(a))
	}
	if err != nil {
		return nil, fmt.Errorf("health check: %w", err)
	}
	return &out, nil
}

// Check runs one attempt of hc. It never returns an error: every failure,
// including a check berth cannot run, is an unhealthy Result whose Detail
// says why.
func Check(ctx context.Context, hc *metadata.HealthCheck, opts Options) Result {
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = Timeout(hc)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	var ok bool
	var detail string
	switch hc.Type {
	case metadata.HealthHTTP:
		ok, detail = checkHTTP(ctx, hc, timeout)
	case metadata.HealthTCP:
		ok, detail = checkTCP(ctx, hc, timeout)
	case metadata.HealthCommand:
		ok, detail = checkCommand(ctx, hc, opts, timeout)
	case metadata.HealthFile:
		ok, detail = checkFile(hc, opts)
	default:
		detail = fmt.Sprintf("unknown health check type %q (use http, tcp, command or file)", hc.Type)
	}
	return Result{Healthy: ok, Kind: hc.Type, Detail: detail, Duration: time.Since(start), At: start}
}

// httpClient is shared so checks reuse its transport's setup; keep-alives
// are off so that berth holds no idle connection to a service it may stop,
// and no proxy is used because health URLs point at local services.
var httpClient = &http.Client{
	Transport: &http.Transport{
		Proxy:             nil,
		DisableKeepAlives: true,
		DialContext:       (&net.Dialer{}).DialContext,
	},
	// A redirect is an answer: expected_status may name it.
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

func checkHTTP(ctx context.Context, hc *metadata.HealthCheck, timeout time.Duration) (bool, string) {
	method := hc.Method
	if method == "" {
		method = http.MethodGet
	}
	want := hc.ExpectedStatus
	if want == 0 {
		want = DefaultStatus
	}
	method = strings.ToUpper(method)
	req, err := http.NewRequestWithContext(ctx, method, hc.URL, nil)
	if err != nil {
		return false, fmt.Sprintf("%s %s: invalid request: %v", method, hc.URL, err)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return false, method + " " + hc.URL + ": " + describeErr(ctx, err, timeout)
	}
	resp.Body.Close()
	if resp.StatusCode != want {
		return false, fmt.Sprintf("http %d (expected %d)", resp.StatusCode, want)
	}
	return true, fmt.Sprintf("http %d", resp.StatusCode)
}

func checkTCP(ctx context.Context, hc *metadata.HealthCheck, timeout time.Duration) (bool, string) {
	if open, known := connectNow(hc.Address); known && ctx.Err() == nil {
		if open {
			return true, "tcp " + hc.Address + " open"
		}
		return false, "tcp " + hc.Address + ": " + unix.ECONNREFUSED.Error()
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", hc.Address)
	if err != nil {
		return false, "tcp " + hc.Address + ": " + describeErr(ctx, err, timeout)
	}
	conn.Close()
	return true, "tcp " + hc.Address + " open"
}

func checkCommand(ctx context.Context, hc *metadata.HealthCheck, opts Options, timeout time.Duration) (bool, string) {
	if len(hc.Command) == 0 {
		return false, "command: no command given"
	}
	if hc.In != "" {
		return checkCommandIn(ctx, hc, opts, timeout)
	}
	cmd := exec.CommandContext(ctx, hc.Command[0], hc.Command[1:]...)
	cmd.Dir = opts.Dir
	cmd.Env = opts.Env
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	// A check may start children (sh -c); on timeout the whole group goes,
	// and Wait does not hang on a grandchild that keeps the pipe open.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 100 * time.Millisecond
	err := cmd.Run()
	name := filepath.Base(hc.Command[0])
	if ctx.Err() != nil {
		return false, fmt.Sprintf("command %s: %s", name, describeErr(ctx, ctx.Err(), timeout))
	}
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
		if code < 0 {
			return false, fmt.Sprintf("command %s: %v", name, ee)
		}
	case err != nil:
		return false, fmt.Sprintf("command %s: %v", name, err)
	}
	if code != hc.ExpectedExit {
		d := fmt.Sprintf("command %s: exit code %d (expected %d)", name, code, hc.ExpectedExit)
		if last := lastLine(out.Bytes()); last != "" {
			d += ": " + last
		}
		return false, d
	}
	return true, fmt.Sprintf("command %s: exit code %d", name, code)
}

// checkCommandIn runs a command check inside a container or compose service.
func checkCommandIn(ctx context.Context, hc *metadata.HealthCheck, opts Options, timeout time.Duration) (bool, string) {
	name := filepath.Base(hc.Command[0]) + " in " + hc.In
	if opts.Exec == nil {
		return false, "command " + name + ": berth cannot run commands inside containers here"
	}
	var out bytes.Buffer
	code, err := opts.Exec(ctx, hc.In, hc.Command, nil, "", &out)
	if ctx.Err() != nil {
		return false, fmt.Sprintf("command %s: %s", name, describeErr(ctx, ctx.Err(), timeout))
	}
	if err != nil {
		return false, fmt.Sprintf("command %s: %v", name, err)
	}
	if code != hc.ExpectedExit {
		d := fmt.Sprintf("command %s: exit code %d (expected %d)", name, code, hc.ExpectedExit)
		if last := lastLine(out.Bytes()); last != "" {
			d += ": " + last
		}
		return false, d
	}
	return true, fmt.Sprintf("command %s: exit code %d", name, code)
}

func checkFile(hc *metadata.HealthCheck, opts Options) (bool, string) {
	p := hc.Path
	if !filepath.IsAbs(p) && opts.Dir != "" {
		p = filepath.Join(opts.Dir, p)
	}
	if _, err := os.Stat(p); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return false, "file " + hc.Path + ": missing"
		}
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return false, "file " + hc.Path + ": " + err.Error()
	}
	return true, "file " + hc.Path + " exists"
}

// describeErr turns a dial or request error into its essential part:
// "connection refused", "timed out after 1s".
func describeErr(ctx context.Context, err error, timeout time.Duration) string {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		if ctx.Err() == context.DeadlineExceeded {
			return "timed out after " + timeout.String()
		}
		return "timed out"
	}
	if errors.Is(err, context.Canceled) {
		return "canceled"
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno.Error()
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return dnsErr.Error()
	}
	var ae *net.AddrError
	if errors.As(err, &ae) {
		return ae.Error()
	}
	return err.Error()
}

func lastLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = strings.TrimSpace(s[i+1:])
	}
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

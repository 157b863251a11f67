package runtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/berthdev/berth/metadata"
)

// StepError is a hook step that failed every try.
type StepError struct {
	Service string
	Hook    string // post_start or pre_stop
	Step    string
	Tries   int
	Err     error
	// LastLines are the last lines the step printed.
	LastLines []string
}

func (e *StepError) Error() string {
	msg := fmt.Sprintf("%s step %q of %s failed after %d tr%s: %v", e.Hook, e.Step, e.Service, e.Tries, plural(e.Tries, "y", "ies"), e.Err)
	if len(e.LastLines) > 0 {
		msg += "\n  " + strings.Join(e.LastLines, "\n  ")
	}
	return msg
}

func (e *StepError) Unwrap() error { return e.Err }

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// runHooks runs the service's post_start or pre_stop steps in order; the
// first step that fails every try ends them with a *StepError. Their output
// goes to the service's log file (logs/<service>/service.log unless the
// manifest names another), each try headed by a line of berth's own.
func (m *Manager) runHooks(ctx context.Context, name, hook string) error {
	spec := m.Env.Manifest.Services[name]
	if spec == nil || spec.Hooks == nil {
		return nil
	}
	steps := spec.Hooks.PostStart
	if hook == "pre_stop" {
		steps = spec.Hooks.PreStop
	}
	if len(steps) == 0 {
		return nil
	}
	logf, err := m.hookLog(name, spec)
	if err != nil {
		return err
	}
	defer logf.Close()
	for i := range steps {
		if err := m.runStep(ctx, name, hook, spec.Component, &steps[i], logf); err != nil {
			return err
		}
	}
	return nil
}

func (m *Manager) hookLog(name string, spec *metadata.Service) (*os.File, error) {
	p := filepath.Join("logs", name, "service.log")
	if spec.Log != nil && spec.Log.Path != "" {
		p = filepath.FromSlash(spec.Log.Path)
	}
	p = m.Env.Path(p)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, fmt.Errorf("service %s: hooks' log: %w", name, err)
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("service %s: hooks' log: %w", name, err)
	}
	return f, nil
}

// resolvedStep is a step with its variables expanded.
type resolvedStep struct {
	argv, env []string
	dir, tcp  string
	skip      bool
}

func (m *Manager) resolveStep(component string, st *metadata.HookStep, extra map[string]string) (*resolvedStep, error) {
	vars, err := m.Env.Vars(component)
	if err != nil {
		return nil, err
	}
	lookup := func(k string) (string, bool) {
		if v, ok := extra[k]; ok {
			return v, true
		}
		return vars(k)
	}
	var errs []error
	x := func(s string) string {
		v, err := metadata.Expand(s, lookup)
		if err != nil {
			errs = append(errs, err)
		}
		return v
	}
	r := &resolvedStep{tcp: x(st.TCP)}
	for _, a := range st.Run {
		r.argv = append(r.argv, x(a))
	}
	if st.IfExists != "" {
		p := x(st.IfExists)
		if !filepath.IsAbs(p) {
			p = m.Env.Path(p)
		}
		_, err := os.Stat(p)
		r.skip = err != nil
	}
	r.dir = x(st.Dir)
	if st.In == "" {
		if !filepath.IsAbs(r.dir) {
			r.dir = m.Env.Path(r.dir)
		}
		r.env = hostEnv(m.Env, st)
	}
	keys := make([]string, 0, len(st.Env))
	for k := range st.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		r.env = append(r.env, k+"="+x(st.Env[k]))
	}
	return r, errors.Join(errs...)
}

// hostEnv is a host step's environment: berth's own, config/.env, minus unset_env.
func hostEnv(env *metadata.Env, st *metadata.HookStep) []string {
	unset := map[string]bool{}
	for _, k := range st.UnsetEnv {
		unset[k] = true
	}
	var out []string
	for _, kv := range append(os.Environ(), env.DotEnv.Environ()...) {
		if k, _, _ := strings.Cut(kv, "="); !unset[k] {
			out = append(out, kv)
		}
	}
	return out
}

func (m *Manager) runStep(ctx context.Context, name, hook, component string, st *metadata.HookStep, logf io.Writer) error {
	label := st.Label()
	r, err := m.resolveStep(component, st, nil)
	if err != nil {
		return fmt.Errorf("service %s: %s step %q: %w", name, hook, label, err)
	}
	if r.skip {
		fmt.Fprintf(logf, "%s berth: %s %s: skipped (%s does not exist)\n", stamp(), hook, label, st.IfExists)
		return nil
	}
	tries := st.Retries + 1
	var last error
	var tail outputTail
	for try := 1; try <= tries; try++ {
		fmt.Fprintf(logf, "%s berth: %s %s: try %d/%d\n", stamp(), hook, label, try, tries)
		tail = outputTail{}
		tctx, cancel := context.WithTimeout(ctx, st.TryTimeout())
		last = m.tryStep(tctx, st, r, io.MultiWriter(logf, &tail))
		if last != nil && tctx.Err() == context.DeadlineExceeded && ctx.Err() == nil {
			last = fmt.Errorf("timed out after %s (raise timeout in berth.yaml)", st.TryTimeout())
		}
		cancel()
		if last == nil {
			fmt.Fprintf(logf, "%s berth: %s %s: done\n", stamp(), hook, label)
			return nil
		}
		fmt.Fprintf(logf, "%s berth: %s %s: %v\n", stamp(), hook, label, last)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if try < tries {
			m.note("%s: %s failed; retrying (%d/%d) in %s...", name, label, try, st.Retries, st.RetryDelay())
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(st.RetryDelay()):
			}
		}
	}
	return &StepError{Service: name, Hook: hook, Step: label, Tries: tries, Err: last, LastLines: tail.lines(10)}
}

// tryStep makes one try: a TCP connection, a command inside a container,
// or a host command in a process group of its own, ended whole on timeout.
func (m *Manager) tryStep(ctx context.Context, st *metadata.HookStep, r *resolvedStep, out io.Writer) error {
	switch {
	case r.tcp != "":
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", r.tcp)
		if err != nil {
			return err
		}
		return conn.Close()
	case st.In != "":
		if m.Exec == nil {
			return fmt.Errorf("berth cannot run commands inside containers here (in: %s)", st.In)
		}
		code, err := m.Exec(ctx, st.In, r.argv, r.env, r.dir, out)
		if err != nil {
			return err
		}
		if code != 0 {
			return fmt.Errorf("exit status %d", code)
		}
		return nil
	}
	cmd := exec.CommandContext(ctx, r.argv[0], r.argv[1:]...)
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = r.dir, r.env, out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	return cmd.Run()
}

func stamp() string { return time.Now().UTC().Format(time.RFC3339) }

// outputTail keeps the last bytes a step printed, for its error.
type outputTail struct{ buf []byte }

func (t *outputTail) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if len(t.buf) > 8<<10 {
		t.buf = t.buf[len(t.buf)-8<<10:]
	}
	return len(p), nil
}

func (t *outputTail) lines(n int) []string {
	text := strings.TrimSpace(string(bytes.TrimRight(t.buf, "\n")))
	if text == "" {
		return nil
	}
	l := strings.Split(text, "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return l
}

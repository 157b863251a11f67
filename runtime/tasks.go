package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/berthdev/berth/metadata"
)

// TaskUsageError is a task called with arguments its declaration refuses.
type TaskUsageError struct{ Msg string }

func (e *TaskUsageError) Error() string { return e.Msg }

// TaskUsage is how a task is called: NAME ARG [ARG] with choices.
func TaskUsage(name string, t *metadata.Task) string {
	parts := []string{name}
	for _, a := range t.Args {
		p := a.Name
		if len(a.Choices) > 0 {
			p = strings.Join(a.Choices, "|")
		}
		if a.Default != "" {
			p = "[" + p + "]"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, " ")
}

// TaskVars checks args against the task's declared arguments (their count
// and choices) and returns them as the variables of its command.
func TaskVars(name string, t *metadata.Task, args []string) (map[string]string, error) {
	usage := func(format string, a ...any) error {
		return &TaskUsageError{Msg: fmt.Sprintf(format, a...) + ": usage: berth run " + TaskUsage(name, t)}
	}
	required := 0
	for _, a := range t.Args {
		if a.Default == "" {
			required++
		}
	}
	if len(args) < required || len(args) > len(t.Args) {
		return nil, usage("task %s takes %s, not %d", name, argCount(required, len(t.Args)), len(args))
	}
	vars := map[string]string{}
	for i, a := range t.Args {
		v := a.Default
		if i < len(args) {
			v = args[i]
		}
		if len(a.Choices) > 0 && !contains(a.Choices, v) {
			return nil, usage("task %s: %s %q is not one of %s", name, a.Name, v, strings.Join(a.Choices, ", "))
		}
		vars[a.Name] = v
	}
	return vars, nil
}

func argCount(min, max int) string {
	switch {
	case min == max && max == 0:
		return "no arguments"
	case min == max:
		return fmt.Sprintf("%d argument%s", max, plural(max, "", "s"))
	}
	return fmt.Sprintf("%d to %d arguments", min, max)
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// RunTask runs a task of the manifest in the foreground, on the host or
// inside its in: container, with the given streams, and returns the
// command's exit code (128+N when a signal N ended it). Its retries, delay
// and timeout apply as for a hook step.
func (m *Manager) RunTask(ctx context.Context, name string, args []string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	t := m.Env.Manifest.Tasks[name]
	if t == nil {
		names := strings.Join(m.Env.Manifest.TaskOrder, ", ")
		if names == "" {
			names = "none are declared"
		}
		return 0, &TaskUsageError{Msg: fmt.Sprintf("unknown task %q (tasks: %s): run `berth run` to list them", name, names)}
	}
	vars, err := TaskVars(name, t, args)
	if err != nil {
		return 0, err
	}
	r, err := m.resolveStep(t.Component, &t.HookStep, vars)
	if err != nil {
		return 0, fmt.Errorf("task %s: %w", name, err)
	}
	if r.skip {
		fmt.Fprintf(stderr, "task %s: skipped (%s does not exist)\n", name, t.IfExists)
		return 0, nil
	}
	tries := t.Retries + 1
	for try := 1; ; try++ {
		tctx, cancel := ctx, context.CancelFunc(func() {})
		if t.Timeout > 0 {
			tctx, cancel = context.WithTimeout(ctx, time.Duration(t.Timeout))
		}
		code, err := m.runTaskOnce(tctx, t, r, stdin, stdout, stderr)
		timedOut := tctx.Err() == context.DeadlineExceeded && ctx.Err() == nil
		cancel()
		if timedOut {
			err = fmt.Errorf("task %s timed out after %s (raise timeout in berth.yaml)", name, time.Duration(t.Timeout))
		}
		if (err == nil && code == 0) || try >= tries || ctx.Err() != nil {
			return code, err
		}
		fmt.Fprintf(stderr, "task %s failed; retrying (%d/%d) in %s...\n", name, try, t.Retries, t.RetryDelay())
		select {
		case <-ctx.Done():
			return code, ctx.Err()
		case <-time.After(t.RetryDelay()):
		}
	}
}

func (m *Manager) runTaskOnce(ctx context.Context, t *metadata.Task, r *resolvedStep, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	if r.tcp != "" {
		return 0, errors.New("a task runs a command; tcp: applies to hook steps")
	}
	if t.In != "" {
		if m.Exec == nil {
			return -1, fmt.Errorf("berth cannot run commands inside containers here (in: %s)", t.In)
		}
		return m.Exec(ctx, t.In, r.argv, r.env, r.dir, stdout)
	}
	cmd := exec.CommandContext(ctx, r.argv[0], r.argv[1:]...)
	cmd.Dir, cmd.Env = r.dir, r.env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), nil
		}
		return ee.ExitCode(), nil
	}
	if err != nil {
		return -1, fmt.Errorf("run %s: %w", r.argv[0], err)
	}
	return 0, nil
}

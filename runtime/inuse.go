package runtime

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// UsersOf names the running services of this environment that use the
// component tree in dir: the services of component while .metadata binds it
// to dir, and any service whose process works in, runs from or names a path
// under dir. A service that cannot be inspected is an error naming it, so
// nothing is deleted on a guess.
func (m *Manager) UsersOf(ctx context.Context, component, dir string) ([]string, error) {
	states, err := m.Status(ctx, nil, StatusRequest{})
	if states == nil {
		return nil, err
	}
	bound, _ := m.Env.ComponentDir(component)
	var users []string
	for _, st := range states {
		spec := m.Env.Manifest.Services[st.Name]
		if st.State == Unknown && spec.Component == component {
			return nil, fmt.Errorf("cannot tell whether %s uses %s: %s", st.Name, dir, st.Reason)
		}
		if !st.IsRunning() {
			continue
		}
		if (spec.Component == component && bound != "" && samePath(bound, dir)) || processUses(st, dir) {
			users = append(users, st.Name)
		}
	}
	return users, nil
}

// processUses says whether the service's main process works in, runs from
// or names on its command line a path under dir.
func processUses(st State, dir string) bool {
	if st.PID <= 0 {
		return false
	}
	proc := filepath.Join("/proc", strconv.Itoa(st.PID))
	for _, link := range []string{"cwd", "exe"} {
		if p, err := os.Readlink(filepath.Join(proc, link)); err == nil && under(strings.TrimSuffix(p, " (deleted)"), dir) {
			return true
		}
	}
	cmdline, _ := os.ReadFile(filepath.Join(proc, "cmdline"))
	for _, arg := range bytes.Split(cmdline, []byte{0}) {
		if under(string(arg), dir) {
			return true
		}
	}
	return false
}

func under(p, dir string) bool {
	p, dir = filepath.Clean(p), filepath.Clean(dir)
	return p == dir || strings.HasPrefix(p, dir+string(filepath.Separator))
}

func samePath(a, b string) bool {
	if filepath.Clean(a) == filepath.Clean(b) {
		return true
	}
	ra, err1 := filepath.EvalSymlinks(a)
	rb, err2 := filepath.EvalSymlinks(b)
	return err1 == nil && err2 == nil && ra == rb
}

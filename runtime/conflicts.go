package runtime

import (
	"context"
	"fmt"
	"slices"

	"github.com/berthdev/berth/metadata"
)

// ConflictError means a service may not start while another one runs, or
// both were asked to start (conflicts in berth.yaml, either direction).
type ConflictError struct {
	Service string
	With    string
	// PID is the running conflicting service's, if known.
	PID int
	// Both says both were to be started by this command.
	Both bool
}

func (e *ConflictError) Error() string {
	if e.Both {
		return fmt.Sprintf("cannot start %s and %s together: they conflict (conflicts in berth.yaml); start one of them", e.Service, e.With)
	}
	pid := ""
	if e.PID != 0 {
		pid = fmt.Sprintf(" (PID %d)", e.PID)
	}
	return fmt.Sprintf("cannot start %s: it conflicts with %s, which is running%s; stop %s first", e.Service, e.With, pid, e.With)
}

// Conflicts lists the services that name must not run alongside: those it
// names in conflicts and those that name it, in manifest order.
func Conflicts(man *metadata.Manifest, name string) []string {
	want := map[string]bool{}
	if s := man.Services[name]; s != nil {
		for _, c := range s.Conflicts {
			want[c] = true
		}
	}
	for _, n := range man.ServiceOrder {
		if s := man.Services[n]; s != nil && slices.Contains(s.Conflicts, name) {
			want[n] = true
		}
	}
	var out []string
	for _, n := range man.ServiceOrder {
		if want[n] && n != name {
			out = append(out, n)
		}
	}
	return out
}

func (m *Manager) checkConflicts(ctx context.Context, p *StartPlan, launching map[string]bool) error {
	seen := map[string]*State{}
	for _, svc := range p.Launch {
		for _, c := range Conflicts(m.Env.Manifest, svc.Name) {
			if launching[c] {
				return &ConflictError{Service: svc.Name, With: c, Both: true}
			}
			st := seen[c]
			if st == nil {
				base, run, err := m.base(c)
				if err != nil {
					return err
				}
				// Hold the other service's start lock until this start has
				// launched, so that a berth starting it at the same moment
				// cannot pass its own conflict check while this one runs.
				l, err := lockStart(base)
				if err != nil {
					return fmt.Errorf("%s conflicts with %s: %w", svc.Name, c, err)
				}
				p.hold(c, l)
				s, err := m.inspect(ctx, base, run)
				if err != nil {
					return err
				}
				st = &s
				seen[c] = st
			}
			if st.IsRunning() {
				return &ConflictError{Service: svc.Name, With: c, PID: st.PID}
			}
		}
	}
	return nil
}

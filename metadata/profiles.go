package metadata

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// StartsWithAll says whether start all (and up without names) starts the
// service when the profiles named are active: a service with profiles only
// when one of them is named, one with auto_start: false only then too, any
// other always. Named on the command line, every service starts.
func (s *Service) StartsWithAll(active []string) bool {
	for _, p := range s.Profiles {
		if slices.Contains(active, p) {
			return true
		}
	}
	if len(s.Profiles) > 0 {
		return false
	}
	return s.AutoStart == nil || *s.AutoStart
}

// Profiles lists every profile the manifest's services name, sorted.
func (m *Manifest) Profiles() []string {
	seen := map[string]bool{}
	for _, s := range m.Services {
		for _, p := range s.Profiles {
			seen[p] = true
		}
	}
	out := make([]string, 0, len(seen))
	for p := range seen {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// CheckProfiles refuses a profile no service has: a typo would otherwise
// quietly start less than meant.
func (m *Manifest) CheckProfiles(names []string) error {
	known := m.Profiles()
	for _, n := range names {
		if !slices.Contains(known, n) {
			if len(known) == 0 {
				return fmt.Errorf("no service of %s has a profile, so --profile %s selects nothing", m.Path, n)
			}
			msg := fmt.Sprintf("no service has profile %q (profiles: %s)", n, strings.Join(known, ", "))
			if near := Nearest(n, known); near != "" {
				msg = fmt.Sprintf("no service has profile %q: did you mean %q? (profiles: %s)", n, near, strings.Join(known, ", "))
			}
			return fmt.Errorf("%s", msg)
		}
	}
	return nil
}

package runtime

import (
	"fmt"
	"strings"
)

// Describe is what a status line shows in parentheses for a running
// service: the runner's detail, else the PID.
func (s State) Describe() string {
	if d := s.describe(); d != "" {
		return d
	}
	return fmt.Sprintf("PID %d", s.PID)
}

// onHost keeps the services of sel placed on host; with no host it keeps
// them all. A service named on the command line (all is false) that is on
// another host is an error, as is a host with no selected service.
func (m *Manager) onHost(sel []string, all bool, host string) ([]string, error) {
	if host == "" {
		return sel, nil
	}
	if m.Env.Manifest.Hosts[host] == nil {
		var known []string
		known = append(known, m.Env.Manifest.HostOrder...)
		return nil, fmt.Errorf("unknown host %q (hosts in berth.yaml: %s)", host, strings.Join(known, ", "))
	}
	var out []string
	for _, n := range sel {
		spec := m.Env.Manifest.Services[n]
		if spec != nil && spec.Host == host {
			out = append(out, n)
			continue
		}
		if !all {
			return nil, fmt.Errorf("service %s is not placed on host %s: drop --host or name services of that host", n, host)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no service is placed on host %s (set host: %s on container services in berth.yaml)", host, host)
	}
	return out, nil
}

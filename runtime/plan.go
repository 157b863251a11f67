package runtime

import (
	"fmt"
	"sort"
	"strings"

	"github.com/berthdev/berth/metadata"
)

// All is the argument that names every service.
const All = "all"

// StartOrder is every service of m in start order: a service after all it
// depends on; where depends_on leaves a choice, the manifest's start_order,
// then manifest order. The manifest is validated, so there is no cycle.
func StartOrder(m *metadata.Manifest) []string {
	rank := map[string]int{}
	for i, n := range m.StartOrder {
		rank[n] = i
	}
	for i, n := range m.ServiceOrder {
		if _, ok := rank[n]; !ok {
			rank[n] = len(m.StartOrder) + i
		}
	}
	indeg := map[string]int{}
	dependents := map[string][]string{}
	for _, n := range m.ServiceOrder {
		indeg[n] += 0
		if s := m.Services[n]; s != nil {
			for _, d := range s.DependsOn {
				if _, ok := m.Services[d.Service]; ok && d.Service != n {
					indeg[n]++
					dependents[d.Service] = append(dependents[d.Service], n)
				}
			}
		}
	}
	var ready, out []string
	for _, n := range m.ServiceOrder {
		if indeg[n] == 0 {
			ready = append(ready, n)
		}
	}
	for len(ready) > 0 {
		sort.Slice(ready, func(i, j int) bool { return rank[ready[i]] < rank[ready[j]] })
		n := ready[0]
		ready = ready[1:]
		out = append(out, n)
		for _, d := range dependents[n] {
			if indeg[d]--; indeg[d] == 0 {
				ready = append(ready, d)
			}
		}
	}
	// A cycle (only in an unvalidated manifest) leaves services out; keep
	// them in manifest order rather than lose them.
	if len(out) < len(m.ServiceOrder) {
		seen := map[string]bool{}
		for _, n := range out {
			seen[n] = true
		}
		for _, n := range m.ServiceOrder {
			if !seen[n] {
				out = append(out, n)
			}
		}
	}
	return out
}

// StopOrder is the reverse of StartOrder.
func StopOrder(m *metadata.Manifest) []string {
	o := StartOrder(m)
	for i, j := 0, len(o)-1; i < j; i, j = i+1, j-1 {
		o[i], o[j] = o[j], o[i]
	}
	return o
}

// Select turns command-line names into services, ordered by order: "all"
// (alone) is every service; unknown names are an error naming the known ones.
// all reports whether "all" was given.
func Select(m *metadata.Manifest, names []string, order []string) (selected []string, all bool, err error) {
	if len(names) == 0 {
		return nil, false, fmt.Errorf("name a service or all (services: %s)", strings.Join(m.ServiceOrder, ", "))
	}
	want := map[string]bool{}
	for _, n := range names {
		if n == All {
			if len(names) > 1 {
				return nil, false, fmt.Errorf("all cannot be combined with service names")
			}
			return append([]string(nil), order...), true, nil
		}
		if m.Services[n] == nil {
			return nil, false, fmt.Errorf("unknown service %q (services: %s)", n, strings.Join(m.ServiceOrder, ", "))
		}
		want[n] = true
	}
	for _, n := range order {
		if want[n] {
			selected = append(selected, n)
		}
	}
	return selected, false, nil
}

// Dependents maps each service to the services that depend on it, for the
// reverse walk of stop.
func Dependents(m *metadata.Manifest) map[string][]string {
	out := map[string][]string{}
	for _, n := range m.ServiceOrder {
		if s := m.Services[n]; s != nil {
			for _, d := range s.DependsOn {
				out[d.Service] = append(out[d.Service], n)
			}
		}
	}
	return out
}

// WithDependencies adds to names every service they depend on, directly or
// not, and returns them all in start order.
func WithDependencies(m *metadata.Manifest, names []string) []string {
	want := map[string]bool{}
	var add func(string)
	add = func(n string) {
		if want[n] {
			return
		}
		want[n] = true
		if s := m.Services[n]; s != nil {
			for _, d := range s.DependsOn {
				add(d.Service)
			}
		}
	}
	for _, n := range names {
		add(n)
	}
	var out []string
	for _, n := range StartOrder(m) {
		if want[n] {
			out = append(out, n)
		}
	}
	return out
}

// AllDependents is every service that depends on name, directly or not,
// in stop order.
func AllDependents(m *metadata.Manifest, name string) []string {
	deps := Dependents(m)
	want := map[string]bool{}
	var add func(string)
	add = func(n string) {
		for _, d := range deps[n] {
			if !want[d] {
				want[d] = true
				add(d)
			}
		}
	}
	add(name)
	var out []string
	for _, n := range StopOrder(m) {
		if want[n] {
			out = append(out, n)
		}
	}
	return out
}

// DepNode is one edge of a dependency tree: a service, the condition of the
// edge that leads to it, and its own edges further along.
type DepNode struct {
	Service   string    `json:"service"`
	Condition string    `json:"condition"`
	Next      []DepNode `json:"next,omitempty"`
}

// NeedsTree is what name depends on, directly and further down.
func NeedsTree(m *metadata.Manifest, name string) []DepNode {
	var out []DepNode
	if s := m.Services[name]; s != nil {
		for _, d := range s.DependsOn {
			out = append(out, DepNode{Service: d.Service, Condition: d.Condition, Next: NeedsTree(m, d.Service)})
		}
	}
	return out
}

// NeededByTree is what depends on name, directly and further up, in
// manifest order.
func NeededByTree(m *metadata.Manifest, name string) []DepNode {
	var out []DepNode
	for _, n := range m.ServiceOrder {
		s := m.Services[n]
		if s == nil {
			continue
		}
		for _, d := range s.DependsOn {
			if d.Service == name {
				out = append(out, DepNode{Service: n, Condition: d.Condition, Next: NeededByTree(m, n)})
			}
		}
	}
	return out
}

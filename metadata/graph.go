package metadata

import (
	"cmp"
	"container/heap"
	"slices"
)

// Graph is the manifest's service dependency graph, built once when the
// manifest loads. Start walks it in dependency order (a service after all it
// depends on), stop in the reverse order; both come from here. Edges to
// unknown services and to a service itself are left out: validation reports
// those.
type Graph struct {
	// order is every service in start order; pos is each one's index in it.
	order []string
	pos   map[string]int
	// needs are each service's dependencies, as depends_on lists them;
	// neededBy its direct dependents (Service is the dependent, Condition
	// the edge's), in manifest order.
	needs    map[string][]Dependency
	neededBy map[string][]Dependency
	cycle    []string
	// ordered are the services start_order names.
	ordered map[string]bool
}

// Graph is the manifest's dependency graph. A manifest loaded by
// ParseManifest has it already; for one put together by hand it is built
// on each call.
func (m *Manifest) Graph() *Graph {
	if m.graph != nil {
		return m.graph
	}
	return NewGraph(m)
}

// NewGraph builds the dependency graph of m: the edges, the start order and
// a dependency cycle if there is one.
func NewGraph(m *Manifest) *Graph {
	g := &Graph{pos: make(map[string]int, len(m.ServiceOrder)), needs: map[string][]Dependency{}, neededBy: map[string][]Dependency{}, ordered: setOf(m.StartOrder)}
	for _, n := range m.ServiceOrder {
		s := m.Services[n]
		if s == nil {
			continue
		}
		for _, d := range s.DependsOn {
			if m.Services[d.Service] == nil || d.Service == n {
				continue
			}
			g.needs[n] = append(g.needs[n], d)
			g.neededBy[d.Service] = append(g.neededBy[d.Service], Dependency{Service: n, Condition: d.Condition, Restart: d.Restart})
		}
	}
	g.cycle = g.findCycle(m.ServiceOrder)
	g.order = g.startOrder(m)
	for i, n := range g.order {
		g.pos[n] = i
	}
	return g
}

// indexHeap holds the indexes of services ready to start, lowest first.
type indexHeap []int

func (h indexHeap) Len() int           { return len(h) }
func (h indexHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h indexHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *indexHeap) Push(x any)        { *h = append(*h, x.(int)) }
func (h *indexHeap) Pop() any {
	old := *h
	n := old[len(old)-1]
	*h = old[:len(old)-1]
	return n
}

// startOrder sorts the services topologically; where depends_on leaves a
// choice, the manifest's start_order decides, then manifest order. A cycle
// (only in a manifest that failed validation) leaves services out: they
// follow in manifest order rather than being lost.
func (g *Graph) startOrder(m *Manifest) []string {
	// ranked is the services in the order that decides a choice: those
	// start_order names (as it names them last), then the others in
	// manifest order. The topological sort works on indexes into it.
	ranked := m.ServiceOrder
	if len(m.StartOrder) > 0 {
		rank := make(map[string]int, len(m.StartOrder))
		for i, n := range m.StartOrder {
			rank[n] = i
		}
		ranked = slices.Clone(ranked)
		key := func(i int, n string) int {
			if r, ok := rank[n]; ok {
				return r
			}
			return len(m.StartOrder) + i
		}
		at := make(map[string]int, len(ranked))
		for i, n := range ranked {
			at[n] = key(i, n)
		}
		slices.SortStableFunc(ranked, func(a, b string) int { return cmp.Compare(at[a], at[b]) })
	}
	if len(g.needs) == 0 {
		return slices.Clone(ranked)
	}
	index := make(map[string]int, len(ranked))
	indeg := make([]int, len(ranked))
	var ready indexHeap
	for i, n := range ranked {
		index[n] = i
		if indeg[i] = len(g.needs[n]); indeg[i] == 0 {
			ready = append(ready, i) // ascending: already a heap
		}
	}
	out := make([]string, 0, len(ranked))
	for ready.Len() > 0 {
		n := ranked[heap.Pop(&ready).(int)]
		out = append(out, n)
		for _, d := range g.neededBy[n] {
			if i, ok := index[d.Service]; ok && indeg[i] > 0 {
				if indeg[i]--; indeg[i] == 0 {
					heap.Push(&ready, i)
				}
			}
		}
	}
	if len(out) < len(ranked) {
		seen := make(map[string]bool, len(out))
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

// findCycle returns one dependency cycle as a path that starts and ends with
// the same service, or nil.
func (g *Graph) findCycle(services []string) []string {
	const (
		white = iota
		grey
		black
	)
	color := make(map[string]int, len(services))
	var stack, found []string
	var visit func(string) bool
	visit = func(n string) bool {
		color[n] = grey
		stack = append(stack, n)
		for _, d := range g.needs[n] {
			switch color[d.Service] {
			case grey:
				i := slices.Index(stack, d.Service)
				found = append(slices.Clone(stack[i:]), d.Service)
				return true
			case white:
				if visit(d.Service) {
					return true
				}
			}
		}
		stack = stack[:len(stack)-1]
		color[n] = black
		return false
	}
	for _, n := range services {
		if color[n] == white && visit(n) {
			return found
		}
	}
	return nil
}

// Cycle is one dependency cycle, as a path that starts and ends with the
// same service, or nil when there is none.
func (g *Graph) Cycle() []string { return slices.Clone(g.cycle) }

// StartOrder is every service in start order: a service after all it depends
// on; where depends_on leaves a choice, the manifest's start_order, then
// manifest order.
func (g *Graph) StartOrder() []string { return slices.Clone(g.order) }

// StopOrder is the reverse of StartOrder: a service before all it depends on.
func (g *Graph) StopOrder() []string {
	o := slices.Clone(g.order)
	slices.Reverse(o)
	return o
}

// Needs is what name depends on directly, as its depends_on lists it.
func (g *Graph) Needs(name string) []Dependency { return slices.Clone(g.needs[name]) }

// NeededBy is what depends on name directly, in manifest order; each
// Dependency names the dependent and the condition of its edge.
func (g *Graph) NeededBy(name string) []Dependency { return slices.Clone(g.neededBy[name]) }

// Dependents is the names of what depends on name directly, in manifest order.
func (g *Graph) Dependents(name string) []string {
	var out []string
	for _, d := range g.neededBy[name] {
		out = append(out, d.Service)
	}
	return out
}

// inOrder returns the services of want in start order, or in stop order
// when reverse is set.
func (g *Graph) inOrder(want map[string]bool, reverse bool) []string {
	out := make([]string, 0, len(want))
	for _, n := range g.order {
		if want[n] {
			out = append(out, n)
		}
	}
	if reverse {
		slices.Reverse(out)
	}
	return out
}

// WithDependencies is names and every service they depend on, directly or
// not, in start order. Names the manifest does not know are left out.
func (g *Graph) WithDependencies(names []string) []string {
	want := map[string]bool{}
	var add func(string)
	add = func(n string) {
		if want[n] {
			return
		}
		want[n] = true
		for _, d := range g.needs[n] {
			add(d.Service)
		}
	}
	for _, n := range names {
		add(n)
	}
	return g.inOrder(want, false)
}

// AllDependents is every service that depends on name, directly or not, in
// stop order.
func (g *Graph) AllDependents(name string) []string {
	want := map[string]bool{}
	var add func(string)
	add = func(n string) {
		for _, d := range g.neededBy[n] {
			if !want[d.Service] {
				want[d.Service] = true
				add(d.Service)
			}
		}
	}
	add(name)
	return g.inOrder(want, true)
}

// InStartOrder returns names sorted into start order; InStopOrder into stop
// order. Names the manifest does not know are left out.
func (g *Graph) InStartOrder(names []string) []string { return g.inOrder(setOf(names), false) }

// InStopOrder returns names sorted into stop order.
func (g *Graph) InStopOrder(names []string) []string { return g.inOrder(setOf(names), true) }

func setOf(names []string) map[string]bool {
	s := make(map[string]bool, len(names))
	for _, n := range names {
		s[n] = true
	}
	return s
}

// DepNode is one edge of a dependency tree: a service, the condition of the
// edge that leads to it, and its own edges further along.
type DepNode struct {
	Service   string    `json:"service"`
	Condition string    `json:"condition"`
	Next      []DepNode `json:"next,omitempty"`
}

// NeedsTree is what name depends on, directly and further down.
func (g *Graph) NeedsTree(name string) []DepNode {
	var out []DepNode
	for _, d := range g.needs[name] {
		out = append(out, DepNode{Service: d.Service, Condition: d.Condition, Next: g.NeedsTree(d.Service)})
	}
	return out
}

// NeededByTree is what depends on name, directly and further up, in
// manifest order.
func (g *Graph) NeededByTree(name string) []DepNode {
	var out []DepNode
	for _, d := range g.neededBy[name] {
		out = append(out, DepNode{Service: d.Service, Condition: d.Condition, Next: g.NeededByTree(d.Service)})
	}
	return out
}

// SequencedAfter pairs each service of names that start_order names with the
// one before it, among names, in start order, where no depends_on path joins
// the two: such services start one at a time, each once the one before it is
// up, as the OQTOPUS CLI starts its start order; depends_on governs the
// others. Services start_order leaves out are not sequenced. Each pair
// follows start order, which is topological, so no wait can close a cycle.
func (g *Graph) SequencedAfter(names []string) map[string]string {
	after := map[string]string{}
	prev := ""
	for _, n := range g.InStartOrder(names) {
		if !g.ordered[n] {
			continue
		}
		if prev != "" && !g.joined(prev, n) {
			after[n] = prev
		}
		prev = n
	}
	return after
}

// joined says whether a depends_on path leads from a to b or from b to a.
func (g *Graph) joined(a, b string) bool {
	return slices.Contains(g.WithDependencies([]string{a}), b) || slices.Contains(g.WithDependencies([]string{b}), a)
}

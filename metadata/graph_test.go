package metadata

import (
	"fmt"
	"strings"
	"testing"
)

const backendLike = `version: 1
start_order: [gateway, tranqu, mitigator, estimator, combiner, sse_engine, core]
services:
  core: {command: [x]}
  sse_engine: {command: [x]}
  mitigator: {command: [x]}
  estimator: {command: [x]}
  combiner: {command: [x]}
  tranqu: {command: [x]}
  gateway: {command: [x]}
`

func TestGraphStartOrder(t *testing.T) {
	tests := []struct {
		name, manifest string
		want           string
	}{
		{"backend start_order", backendLike, "gateway tranqu mitigator estimator combiner sse_engine core"},
		{"manifest order", "version: 1\nservices:\n  b: {command: [x]}\n  a: {command: [x]}\n", "b a"},
		{"depends_on first", "version: 1\nservices:\n  web: {command: [x], depends_on: [db]}\n  db: {command: [x]}\n", "db web"},
		{"depends_on beats start_order", "version: 1\nstart_order: [web, db, cache]\nservices:\n  web: {command: [x], depends_on: [db]}\n  db: {command: [x], depends_on: [cache]}\n  cache: {command: [x]}\n  other: {command: [x]}\n", "cache db web other"},
		{"partial start_order", "version: 1\nstart_order: [c]\nservices:\n  a: {command: [x]}\n  b: {command: [x]}\n  c: {command: [x]}\n", "c a b"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ParseManifest("berth.yaml", []byte(tc.manifest))
			if err != nil {
				t.Fatal(err)
			}
			g := m.Graph()
			if got := strings.Join(g.StartOrder(), " "); got != tc.want {
				t.Errorf("start order %q, want %q", got, tc.want)
			}
			rev := g.StopOrder()
			for i, n := range strings.Fields(tc.want) {
				if rev[len(rev)-1-i] != n {
					t.Fatalf("stop order %v is not the reverse of %q", rev, tc.want)
				}
			}
		})
	}
}

// graphManifest: web needs api and cache; api needs db (healthy); worker
// needs db; lone needs nothing and nothing needs it.
const graphManifest = `version: 1
services:
  web: {command: [x], depends_on: [api, cache]}
  api: {command: [x], depends_on: {db: {condition: healthy}}}
  worker: {command: [x], depends_on: [db]}
  db: {command: [x], health: {type: tcp, address: "127.0.0.1:1"}}
  cache: {command: [x]}
  lone: {command: [x]}
`

func TestGraphQueries(t *testing.T) {
	m, err := ParseManifest("berth.yaml", []byte(graphManifest))
	if err != nil {
		t.Fatal(err)
	}
	g := m.Graph()
	if g != m.Graph() {
		t.Error("Graph is rebuilt on each call of a parsed manifest; it must be built once")
	}
	join := func(s []string) string { return strings.Join(s, " ") }
	tree := func(ns []DepNode) string {
		var b strings.Builder
		var walk func([]DepNode)
		walk = func(ns []DepNode) {
			for _, n := range ns {
				fmt.Fprintf(&b, "%s:%s(", n.Service, n.Condition)
				walk(n.Next)
				b.WriteString(")")
			}
		}
		walk(ns)
		return b.String()
	}
	tests := []struct{ query, got, want string }{
		{"start order", join(g.StartOrder()), "db api worker cache web lone"},
		{"stop order", join(g.StopOrder()), "lone web cache worker api db"},
		{"dependents of db", join(g.Dependents("db")), "api worker"},
		{"dependents of lone", join(g.Dependents("lone")), ""},
		{"with dependencies of web", join(g.WithDependencies([]string{"web"})), "db api cache web"},
		{"with dependencies of worker, lone", join(g.WithDependencies([]string{"lone", "worker"})), "db worker lone"},
		{"all dependents of db", join(g.AllDependents("db")), "web worker api"},
		{"all dependents of web", join(g.AllDependents("web")), ""},
		{"in start order", join(g.InStartOrder([]string{"web", "db", "nope"})), "db web"},
		{"in stop order", join(g.InStopOrder([]string{"db", "web"})), "web db"},
		{"needs tree of web", tree(g.NeedsTree("web")), "api:started(db:healthy())cache:started()"},
		{"needed-by tree of db", tree(g.NeededByTree("db")), "api:healthy(web:started())worker:started()"},
		{"cycle", join(g.Cycle()), ""},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s: %q, want %q", tc.query, tc.got, tc.want)
		}
	}
}

// A manifest that fails validation for a cycle still has a graph: the cycle
// is named, and the services the cycle holds back follow in manifest order.
func TestGraphCycle(t *testing.T) {
	m, err := ParseManifest("berth.yaml", []byte("version: 1\nservices:\n  a: {command: [x], depends_on: [c]}\n  b: {command: [x], depends_on: [a]}\n  c: {command: [x], depends_on: [b]}\n  d: {command: [x]}\n"))
	if err == nil || !strings.Contains(err.Error(), "dependency cycle: a -> c -> b -> a") {
		t.Fatalf("err = %v, want the cycle a -> c -> b -> a", err)
	}
	if got := strings.Join(m.Graph().StartOrder(), " "); got != "d a b c" {
		t.Errorf("start order %q, want %q", got, "d a b c")
	}
}

func TestGraphSequencedAfter(t *testing.T) {
	tests := []struct {
		name, manifest string
		launch         []string
		want           string // "svc<prev" pairs in start order
	}{
		{"backend: one after another", backendLike, []string{"core", "sse_engine", "mitigator", "estimator", "combiner", "tranqu", "gateway"},
			"tranqu<gateway mitigator<tranqu estimator<mitigator combiner<estimator sse_engine<combiner core<sse_engine"},
		{"only those launched", backendLike, []string{"core", "gateway", "tranqu"}, "tranqu<gateway core<tranqu"},
		{"depends_on governs its pairs", "version: 1\nstart_order: [db, web, cache]\nservices:\n  web: {command: [x], depends_on: [db]}\n  db: {command: [x]}\n  cache: {command: [x]}\n",
			[]string{"db", "web", "cache"}, "cache<web"},
		{"not in start_order: side by side", "version: 1\nstart_order: [a]\nservices:\n  a: {command: [x]}\n  b: {command: [x]}\n  c: {command: [x]}\n",
			[]string{"a", "b", "c"}, ""},
		// a needs c, c needs b: start order b c a, so no wait can point forward.
		{"no cycle through depends_on", "version: 1\nstart_order: [a, b, c]\nservices:\n  a: {command: [x], depends_on: [c]}\n  b: {command: [x]}\n  c: {command: [x]}\n",
			[]string{"a", "b", "c"}, "c<b"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ParseManifest("berth.yaml", []byte(tc.manifest))
			if err != nil {
				t.Fatal(err)
			}
			g := m.Graph()
			after := g.SequencedAfter(tc.launch)
			var got []string
			for _, n := range g.StartOrder() {
				if p, ok := after[n]; ok {
					got = append(got, n+"<"+p)
				}
			}
			if strings.Join(got, " ") != tc.want {
				t.Errorf("sequenced %q, want %q", strings.Join(got, " "), tc.want)
			}
		})
	}
}

package metadata

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const goodManifest = `version: 1
components:
  engine:
    repo: /tmp/engine.git
    setup:
      - run: [make, setup]
images:
  rt:
    component: engine
    context: rt
    tag: ${IMG}
services:
  db:
    command: [db, --serve]
    health: {type: tcp, address: "127.0.0.1:5432", interval: 200ms}
  api:
    component: engine
    command: [api]
    depends_on:
      db: {condition: healthy}
    stop_signal: INT
    stop_timeout: 2s
    log: {to: file, max_size: 10MiB, max_files: 3}
  worker:
    command: [worker]
    depends_on: [api, db]
start_order: [db, worker, api]
`

func TestParseManifestGood(t *testing.T) {
	m, err := ParseManifest("berth.yaml", []byte(goodManifest))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(m.ServiceOrder, ","); got != "db,api,worker" {
		t.Errorf("service order = %s", got)
	}
	api := m.Services["api"]
	if api.Runner != RunnerProcess {
		t.Errorf("default runner = %q", api.Runner)
	}
	if api.StopGrace() != 2*time.Second || m.Services["db"].StopGrace() != 5*time.Second {
		t.Errorf("grace = %v / %v", api.StopGrace(), m.Services["db"].StopGrace())
	}
	if api.StopSignalOf().String() != "interrupt" {
		t.Errorf("stop signal = %v", api.StopSignalOf())
	}
	if api.Log.MaxSize != 10<<20 || api.Log.MaxFiles != 3 {
		t.Errorf("log = %+v", api.Log)
	}
	if d := api.DependsOn; len(d) != 1 || d[0] != (Dependency{Service: "db", Condition: ConditionHealthy}) {
		t.Errorf("api depends_on = %+v", d)
	}
	if d := m.Services["worker"].DependsOn; len(d) != 2 || d[0] != (Dependency{Service: "api", Condition: ConditionStarted}) {
		t.Errorf("worker depends_on = %+v", d)
	}
	if time.Duration(m.Services["db"].Health.Interval) != 200*time.Millisecond {
		t.Errorf("interval = %v", m.Services["db"].Health.Interval)
	}
}

func TestParseManifestProblems(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string // each must appear in the error
	}{
		{"syntax error", "version: 1\nservices:\n  a: [unclosed\n", []string{"berth.yaml:"}},
		{"empty", "", []string{"the manifest is empty"}},
		{"wrong version", "version: 2\n", []string{"berth.yaml:1: version must be 1"}},
		{"unknown keys, all reported", "version: 1\nservies: {}\nservices:\n  a:\n    comand: [x]\n", []string{
			`berth.yaml:2: unknown key "servies"`, `berth.yaml:5: unknown key "comand"`}},
		{"wrong types", "version: 1\nservices:\n  a:\n    command: notalist\n    stop_timeout: soon\n", []string{
			"berth.yaml:4:", "berth.yaml:5: invalid duration \"soon\""}},
		{"duplicate service", "version: 1\nservices:\n  a: {command: [x]}\n  a: {command: [y]}\n", []string{`"a" already defined`}},
		{"invalid and reserved names", "version: 1\nservices:\n  Bad: {command: [x]}\n  all: {command: [y]}\n", []string{
			`berth.yaml:3: invalid service name "Bad"`, `berth.yaml:4: "all" is reserved`}},
		{"names of the environment's own entries", "version: 1\ncomponents:\n  config: {repo: /r}\n  pids: {repo: /r}\n  berth.yaml: {repo: /r}\nservices:\n  logs: {command: [x]}\n  sse_work: {command: [x]}\n  web: {command: [x]}\n", []string{
			`berth.yaml:3: component name "config" is taken by the environment's own config`, `berth.yaml:4: component name "pids"`,
			`berth.yaml:5: component name "berth.yaml"`, `berth.yaml:7: service name "logs"`, `berth.yaml:8: service name "sse_work"`}},
		{"unknown references", `version: 1
images:
  img: {component: nope, context: ., tag: t}
services:
  a:
    component: ghost
    command: [x]
    depends_on: [b]
    conflicts: [c]
start_order: [zz]
`, []string{`image "img": unknown component "nope"`, `service "a": unknown component "ghost"`,
			`depends on unknown service "b"`, `conflicts with unknown service "c"`, `start_order names unknown service "zz"`}},
		{"cycle printed", `version: 1
services:
  a: {command: [x], depends_on: [b]}
  b: {command: [x], depends_on: [c]}
  c: {command: [x], depends_on: [a]}
`, []string{"dependency cycle: a -> b -> c -> a"}},
		{"healthy needs a check", "version: 1\nservices:\n  a: {command: [x]}\n  b:\n    command: [x]\n    depends_on: {a: {condition: healthy}}\n", []string{
			`waits for "a" to be healthy, but "a" has no health check`}},
		{"runner specifics", "version: 1\nservices:\n  a: {runner: container}\n  b: {runner: compose}\n  c: {runner: vm, command: [x]}\n  d: {}\n", []string{
			"names no container.image", "lacks compose.file", `unknown runner "vm"`, `service "d" has no command`}},
		{"paths must stay inside", "version: 1\nservices:\n  a: {command: [x], dir: ../up, log: {to: file, path: /etc/x}}\n", []string{
			`dir "../up" must be a relative path`, `log.path "/etc/x" must be a relative path`}},
		{"bad ssh hosts", "version: 1\nhosts:\n  a: {endpoint: \"ssh://u:secret@h\"}\n  b: {endpoint: \"ssh://-oProxyCommand=x\"}\n  c: {endpoint: \"ssh://h/path\", tls: {ca: x}}\n", []string{
			`berth.yaml:3: host "a": docker endpoint ssh://u@h: a password`, `berth.yaml:4: host "b"`, "must not start with '-'",
			`berth.yaml:5: host "c": docker endpoint ssh://h/path: a path or query is not allowed`, "tls does not apply"}},
		{"bad health and signal", "version: 1\nservices:\n  a: {command: [x], stop_signal: NOPE, health: {type: http}}\n", []string{
			`unknown signal "NOPE"`, "an http health check needs url"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseManifest("berth.yaml", []byte(tt.in))
			if err == nil {
				t.Fatal("want an error")
			}
			var me *ManifestError
			if !errors.As(err, &me) {
				t.Fatalf("error %T is not a *ManifestError", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestParseSignal(t *testing.T) {
	for in, want := range map[string]string{"TERM": "terminated", "sigint": "interrupt", "9": "killed"} {
		sig, err := ParseSignal(in)
		if err != nil || sig.String() != want {
			t.Errorf("ParseSignal(%q) = %v, %v", in, sig, err)
		}
	}
	if _, err := ParseSignal("BOGUS"); err == nil {
		t.Error("BOGUS accepted")
	}
}

func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(goodManifest))
	f.Add([]byte("version: 1\nservices:\n  a: {command: [x], depends_on: {b: {condition: healthy}}}\n  b: {command: [y]}\n"))
	f.Add([]byte("version: 1\nservices: [1, 2]\n"))
	f.Add([]byte(swarmManifest))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseManifest("fuzz.yaml", data)
		if err != nil {
			return
		}
		// An accepted manifest is fully consistent.
		for _, name := range m.ServiceOrder {
			s := m.Services[name]
			for _, d := range s.DependsOn {
				if m.Services[d.Service] == nil {
					t.Fatalf("accepted unknown dependency %q", d.Service)
				}
			}
		}
		g := m.Graph()
		if g.Cycle() != nil {
			t.Fatal("accepted a cycle")
		}
		// The start order has every service once, each after what it needs.
		order := g.StartOrder()
		if len(order) != len(m.ServiceOrder) {
			t.Fatalf("start order %v, services %v", order, m.ServiceOrder)
		}
		at := map[string]int{}
		for i, n := range order {
			at[n] = i
		}
		for _, n := range order {
			for _, d := range g.Needs(n) {
				if at[d.Service] >= at[n] {
					t.Fatalf("start order %v puts %s before its dependency %s", order, n, d.Service)
				}
			}
		}
	})
}

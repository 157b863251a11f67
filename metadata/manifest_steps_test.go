package metadata

import (
	"strings"
	"testing"
)

const stepsBase = `version: 1
services:
  db:
    runner: compose
    compose: {file: c.yaml, services: [db, minio]}
  box:
    runner: container
    container: {image: x}
  app:
    command: [app]
`

func TestManifestHooksAndTasks(t *testing.T) {
	tests := []struct {
		name, extra, want string
	}{
		{"valid hooks and task", `    hooks:
      post_start:
        - {tcp: "127.0.0.1:3306", retries: 29, delay: 1s}
        - {run: [mysql, -e, SELECT 1], in: db/minio, timeout: 5s}
      pre_stop:
        - {run: [echo, bye], in: box}
tasks:
  device-status:
    args: [{name: state, choices: [show, active]}]
    run: [echo, "${state}"]
`, ""},
		{"step with neither", "    hooks: {post_start: [{name: nothing}]}\n", `post_start step 1 has no run command`},
		{"step with both", "    hooks: {post_start: [{run: [a], tcp: \"x:1\"}]}\n", `has both run and tcp`},
		{"in a process service", "    hooks: {pre_stop: [{run: [a], in: app}]}\n", `"app" is a process service`},
		{"in unknown", "    hooks: {pre_stop: [{run: [a], in: nope}]}\n", `names no service`},
		{"in unknown compose service", "    hooks: {pre_stop: [{run: [a], in: db/mc}]}\n", `mc is not among the compose.services of db`},
		{"negative retries", "    hooks: {pre_stop: [{run: [a], retries: -1}]}\n", `retries cannot be negative`},
		{"unknown step key", "    hooks: {pre_stop: [{run: [a], tries: 3}]}\n", `unknown key "tries"`},
		{"task without run", "tasks:\n  t: {tcp: \"x:1\"}\n", `task "t" has no run command`},
		{"task bad default", "tasks:\n  t: {run: [a], args: [{name: s, choices: [a], default: b}]}\n", `default "b" is not one of its choices`},
		{"task required after optional", "tasks:\n  t: {run: [a], args: [{name: s, default: b}, {name: u}]}\n", `has no default but follows one`},
		{"task arg name", "tasks:\n  t: {run: [a], args: [{name: a-b}]}\n", `must be a variable name`},
		{"health in", "    health: {type: command, command: [x], in: db}\n", ""},
		{"health in on tcp", "    health: {type: tcp, address: \"x:1\", in: db}\n", `health.in applies to command checks only`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := stepsBase + tt.extra
			if strings.HasPrefix(tt.extra, "tasks:") {
				text = stepsBase + tt.extra
			}
			m, err := ParseManifest("berth.yaml", []byte(text))
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if strings.HasPrefix(tt.name, "valid") {
					if got := m.Services["app"].Hooks.PostStart[1].In; got != "db/minio" {
						t.Errorf("in = %q", got)
					}
					if m.TaskOrder[0] != "device-status" || m.Tasks["device-status"].Args[0].Choices[1] != "active" {
						t.Errorf("tasks = %v %+v", m.TaskOrder, m.Tasks["device-status"])
					}
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestComponentBindingKeys(t *testing.T) {
	for text, want := range map[string]string{
		"version: 1\ncomponents:\n  a: {repo: r, binding: cloud_local_a_version}\n":     "",
		"version: 1\ncomponents:\n  a: {repo: r, binding: \"bad key\"}\n":               "is not a .metadata key",
		"version: 1\ncomponents:\n  a: {repo: r, binding: template}\n":                  "one of .metadata's own keys",
		"version: 1\ncomponents:\n  a: {repo: r}\n  b: {repo: r, binding: a_version}\n": `both bound by "a_version"`,
	} {
		m, err := ParseManifest("berth.yaml", []byte(text))
		if want == "" {
			if err != nil || BindingKeyOf("a", m.Components["a"]) != "cloud_local_a_version" {
				t.Errorf("%q: %v", text, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", text, err, want)
		}
	}
}

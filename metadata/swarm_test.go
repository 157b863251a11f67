package metadata

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const swarmManifest = `version: 1
components:
  engine: {repo: /tmp/engine.git}
images:
  api:
    component: engine
    context: .
    tag: api:dev
    registry: 127.0.0.1:5000/team
services:
  api:
    runner: swarm
    command: [serve, --http, ":8080"]
    stop_signal: INT
    stop_timeout: 7s
    swarm:
      image: api
      replicas: 2
      ports:
        - "8080:80"
        - {published: 9090, target: 90, protocol: udp, mode: host}
      mounts: ["data:/data", "${ENV_ROOT}/cfg:/cfg:ro"]
      secrets: [{file: config/api/token}]
      configs: [{file: config/api/config.yaml, target: /etc/api.yaml, mode: "0440"}]
      constraints: ["node.role == manager"]
      resources:
        limits: {cpus: 0.5, memory: 256MiB}
        reservations: {cpus: 0.25, memory: 64MiB}
      restart: {condition: on-failure, delay: 2s, max_attempts: 3}
      update: {parallelism: 1, delay: 1s, order: start-first, failure_action: rollback}
  box:
    runner: container
    container:
      image: busybox
      resources: {limits: {cpus: 1, memory: 1GiB}, reservations: {memory: 512MiB}}
`

func TestParseSwarmSection(t *testing.T) {
	m, err := ParseManifest("berth.yaml", []byte(swarmManifest))
	if err != nil {
		t.Fatal(err)
	}
	if r := m.Images["api"].Registry; r != "127.0.0.1:5000/team" {
		t.Errorf("registry = %q", r)
	}
	api := m.Services["api"]
	sw := api.Swarm
	if api.Runner != RunnerSwarm || sw == nil || sw.Image != "api" || sw.ReplicasOf() != 2 {
		t.Fatalf("swarm service = %+v / %+v", api, sw)
	}
	wantPorts := []SwarmPort{{Published: 8080, Target: 80}, {Published: 9090, Target: 90, Protocol: "udp", Mode: PortModeHost}}
	if len(sw.Ports) != 2 || sw.Ports[0] != wantPorts[0] || sw.Ports[1] != wantPorts[1] {
		t.Errorf("ports = %+v, want %+v", sw.Ports, wantPorts)
	}
	if sw.Secrets[0].File != "config/api/token" || sw.Configs[0].Target != "/etc/api.yaml" || sw.Configs[0].Mode != "0440" {
		t.Errorf("secrets %+v, configs %+v", sw.Secrets, sw.Configs)
	}
	if l := sw.Resources.Limits; l.CPUs != 0.5 || l.Memory != 256<<20 {
		t.Errorf("limits = %+v", l)
	}
	if r := sw.Restart; r.Condition != RestartOnFailure || time.Duration(r.Delay) != 2*time.Second || *r.MaxAttempts != 3 {
		t.Errorf("restart = %+v", r)
	}
	if u := sw.Update; u.Order != OrderStartFirst || *u.Parallelism != 1 || u.FailureAction != "rollback" {
		t.Errorf("update = %+v", u)
	}
	if api.StopGrace() != 7*time.Second {
		t.Errorf("grace = %v", api.StopGrace())
	}
	if c := m.Services["box"].Container; c.Resources.Reservations.Memory != 512<<20 {
		t.Errorf("container = %+v", c)
	}
	var one SwarmSpec
	if one.ReplicasOf() != 1 {
		t.Errorf("default replicas = %d", one.ReplicasOf())
	}
}

func TestSwarmSectionProblems(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"no image", "services:\n  a: {runner: swarm}\n", []string{`berth.yaml:3: service "a" runs on swarm but names no swarm.image`}},
		{"bad ports", `services:
  a:
    runner: swarm
    swarm:
      image: x
      ports: ["80", {published: 1, protocol: icmp, mode: mesh}]
`, []string{`swarm port "80": write PUBLISHED:TARGET`, "swarm port 1:0/icmp has no target", `protocol "icmp"`, `mode "mesh" (use ingress or host)`}},
		{"files, mounts, constraints", `services:
  a:
    runner: swarm
    swarm:
      image: x
      mounts: [/nocolon, "v:relative"]
      secrets: [{file: ../outside}, {file: s, target: a/b}]
      configs: [{file: c, target: rel, mode: "99"}, {file: d, target: /same}, {file: e, target: /same}]
      constraints: ["node.role manager"]
`, []string{`mount "/nocolon"`, `mount "v:relative"`, `file "../outside" must be a relative path`,
			`secret target "a/b"`, `config target "rel" must be an absolute path`, `configs mode "99" is not octal`,
			`two configs have the target "/same"`, `constraint "node.role manager"`}},
		{"policies and resources", `services:
  a:
    runner: swarm
    host: lab
    swarm:
      image: x
      pull: sometimes
      restart: {condition: always}
      update: {order: random, failure_action: panic}
      resources: {limits: {memory: 1MiB, cpus: 1}, reservations: {cpus: 2}}
hosts:
  lab: {endpoint: "unix:///x"}
`, []string{`pull "sometimes"`, `restart.condition "always"`, `update.order "random"`, `failure_action "panic"`,
			"below Docker's minimum", "the CPU reservation exceeds the CPU limit", "drop host, use swarm.constraints"}},
		{"container resources", "services:\n  a:\n    runner: container\n    container: {image: x, resources: {reservations: {cpus: 1}}}\n", []string{
			"a container cannot reserve CPU"}},
		{"container pull", "services:\n  a:\n    runner: container\n    container: {image: x, pull: often}\n", []string{
			`berth.yaml:5: service "a": pull "often" (use missing, always or never)`}},
		{"process with swarm", "services:\n  a: {command: [x], swarm: {image: x}}\n", []string{"swarm settings do not apply"}},
		{"registry with scheme", "components:\n  c: {repo: r}\nimages:\n  i: {component: c, context: ., tag: t, registry: \"https://r\"}\n", []string{
			`registry "https://r" is HOST[:PORT][/PATH], without a scheme`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseManifest("berth.yaml", []byte("version: 1\n"+tt.in))
			var me *ManifestError
			if !errors.As(err, &me) {
				t.Fatalf("error %v is not a *ManifestError", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

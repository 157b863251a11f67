package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/berthdev/berth/images/imagetest"
)

// TestSwarmServiceThroughTheCLI: berth start, status (text, wide and
// JSON), health, restart and stop of a two-replica swarm service, end to
// end with the built binary on the real daemon made a single-node swarm.
// Its image has a HEALTHCHECK and berth.yaml gives no check: health is
// Docker's, per task. The restart rolls two tasks, each waiting for its
// HEALTHCHECK (which needs the command: a restart that dropped it never
// became healthy) and Swarm's 5 s monitor period: start_timeout 60s.
func TestSwarmServiceThroughTheCLI(t *testing.T) {
	c, base := testImage(t)
	leave, err := imagetest.Swarm(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	defer leave()
	tag := fmt.Sprintf("berth-cli-health-%d:1", os.Getpid())
	if err := imagetest.BuildHealthcheck(context.Background(), c, base, tag, 8080); err != nil {
		t.Fatal(err)
	}
	defer imagetest.Remove(c, tag)
	dir := t.TempDir()
	name := uniqueEnvName("berthcliswarm")
	files := map[string]string{
		".metadata": fmt.Sprintf("template=t\nenvironment_name=%s\nenvironment_root=%s\n", name, dir),
		"berth.yaml": fmt.Sprintf(`version: 1
services:
  api:
    runner: swarm
    command: [--tcp, "127.0.0.1:8080"]
    stop_timeout: 2s
    start_timeout: 60s
    swarm:
      image: %q
      replicas: 2
      update: {order: start-first}
`, tag),
	}
	for f, content := range files {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { berth(t, dir, nil, "stop", "all") })
	step := func(want string, args ...string) string {
		t.Helper()
		r := berth(t, dir, nil, args...)
		if r.code != 0 || !regexp.MustCompile(want).MatchString(r.stdout) {
			t.Fatalf("berth %s: exit %d, stdout %q, stderr %q; want %q", strings.Join(args, " "), r.code, r.stdout, r.stderr, want)
		}
		return r.stdout
	}
	step(`api`, "start", "api")
	if supervisorPID(dir) == 0 {
		t.Fatal("no supervisor runs after the start of a Swarm service")
	}
	step(`api: Running \(swarm service [0-9a-z]{12}, 2/2 tasks\)`, "status", "api")
	wide := step(`(?m)^api\s+running\s+swarm service [0-9a-z]{12}, 2/2 tasks\s.*\s`+regexp.QuoteMeta(tag)+`$`, "status", "-o", "wide")
	for slot := 1; slot <= 2; slot++ {
		if !regexp.MustCompile(fmt.Sprintf(`(?m)^  api\.%d\s+running\s+node [0-9a-z]{12}\s+healthy\s+sha256:[0-9a-f]{64}$`, slot)).MatchString(wide) {
			t.Fatalf("status -o wide has no running row for task api.%d:\n%s", slot, wide)
		}
	}
	var sts []struct {
		Name  string `json:"name"`
		State string `json:"state"`
		Tasks []struct {
			State  string `json:"state"`
			Node   string `json:"node"`
			Health string `json:"health"`
		} `json:"tasks"`
	}
	out := step(`"api"`, "status", "-o", "json")
	if err := json.Unmarshal([]byte(out), &sts); err != nil || len(sts) != 1 || len(sts[0].Tasks) != 2 || sts[0].Tasks[0].Node == "" || sts[0].Tasks[0].State != "running" || sts[0].Tasks[1].Health != "healthy" {
		t.Fatalf("status -o json: %v: %s; want api with 2 healthy tasks and their node", err, out)
	}
	newOutputSchema(t).check("status", "status", out)
	step(`api: healthy \(docker: api\.1 healthy, api\.2 healthy, [0-9<]+ ms\)`, "health", "api")
	step(`api`, "restart", "api")
	step(`api: Running \(swarm service [0-9a-z]{12}, 2/2 tasks\)`, "status", "api")
	step(`api`, "stop", "api")
	step(`api: Stopped`, "status", "api")
	// The start spawned the environment's supervisor, which follows the
	// daemon's events; with the environment's last Swarm service removed
	// it has nothing left to watch and exits.
	waitSupervisorGone(t, dir)
}

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
// JSON), restart and stop of a two-replica swarm service, end to end with
// the built binary on the real daemon made a single-node swarm.
func TestSwarmServiceThroughTheCLI(t *testing.T) {
	c, tag := testImage(t)
	leave, err := imagetest.Swarm(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	defer leave()
	dir := t.TempDir()
	name := uniqueEnvName("berthcliswarm")
	files := map[string]string{
		".metadata": fmt.Sprintf("template=t\nenvironment_name=%s\nenvironment_root=%s\n", name, dir),
		"berth.yaml": fmt.Sprintf(`version: 1
services:
  api:
    runner: swarm
    stop_timeout: 2s
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
	step(`api: Running \(swarm service [0-9a-z]{12}, 2/2 tasks\)`, "status", "api")
	wide := step(`(?m)^api\s+running\s+swarm service [0-9a-z]{12}, 2/2 tasks\s.*\s`+regexp.QuoteMeta(tag)+`$`, "status", "-o", "wide")
	for slot := 1; slot <= 2; slot++ {
		if !regexp.MustCompile(fmt.Sprintf(`(?m)^  api\.%d\s+running\s+node [0-9a-z]{12}\s.*sha256:[0-9a-f]{64}$`, slot)).MatchString(wide) {
			t.Fatalf("status -o wide has no running row for task api.%d:\n%s", slot, wide)
		}
	}
	var sts []struct {
		Name  string `json:"name"`
		State string `json:"state"`
		Tasks []struct {
			State string `json:"state"`
			Node  string `json:"node"`
		} `json:"tasks"`
	}
	out := step(`"api"`, "status", "-o", "json")
	if err := json.Unmarshal([]byte(out), &sts); err != nil || len(sts) != 1 || len(sts[0].Tasks) != 2 || sts[0].Tasks[0].Node == "" || sts[0].Tasks[0].State != "running" {
		t.Fatalf("status -o json: %v: %s; want api with 2 tasks and their node", err, out)
	}
	step(`api`, "restart", "api")
	step(`api: Running \(swarm service [0-9a-z]{12}, 2/2 tasks\)`, "status", "api")
	step(`api`, "stop", "api")
	step(`api: Stopped`, "status", "api")
}

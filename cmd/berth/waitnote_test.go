package main

import (
	"strings"
	"testing"
)

// A start waiting on a slow dependency says what it waits for and how long.
func TestStartSaysWhatItWaitsFor(t *testing.T) {
	root := yamlEnvCLI(t, `version: 1
services:
  db:
    command: [TESTSVC, --ready-after, 3s, --tcp, ADDR1]
    health: {type: tcp, address: ADDR1, interval: 100ms}
  api:
    command: [TESTSVC]
    depends_on: {db: {condition: healthy}}
`)
	out, code := berthEnv(t, root, "start", "api")
	if code != 0 || !strings.Contains(out, "waiting for db to become healthy: ") || !strings.Contains(out, "s so far (start_timeout 30s)") {
		t.Fatalf("start api: %d\n%s", code, out)
	}
	// A fast start says nothing of the kind.
	berthEnv(t, root, "stop", "all")
	root2 := yamlEnvCLI(t, "version: 1\nservices:\n  db:\n    command: [TESTSVC, --tcp, ADDR1]\n    health: {type: tcp, address: ADDR1, interval: 100ms}\n")
	if out, code := berthEnv(t, root2, "start", "db"); code != 0 || strings.Contains(out, "waiting for") {
		t.Fatalf("fast start: %d\n%s", code, out)
	}
}

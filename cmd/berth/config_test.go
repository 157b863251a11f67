package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestConfigResolvesVariablesDefaultsAndSources(t *testing.T) {
	root := yamlEnvCLI(t, `version: 1
services:
  web:
    command: [TESTSVC, --tcp, "127.0.0.1:${WEB_PORT:-8081}"]
    health: {type: tcp, address: "127.0.0.1:${WEB_PORT:-8081}"}

  api:
    runner: process
    command: [TESTSVC, "${API_FLAG}"]
    stop_timeout: 9s
`)
	out, code := berthEnv(t, root, "config")
	for _, want := range []string{
		"  web:\n    source: berth.yaml:3\n    runner: process\n",
		"- 127.0.0.1:8081\n",
		"      interval: 10s\n      timeout: 5s\n      retries: 3\n",
		"    stop_signal: TERM\n    stop_timeout: 5s\n    start_timeout: 30s\n",
		"  api:\n    source: berth.yaml:7\n",
		"- ${API_FLAG}\n",
		"    stop_timeout: 9s\n",
		"berth.yaml:9: ${API_FLAG} is not set",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("config lacks %q:\n%s", want, out)
		}
	}
	if code != 1 {
		t.Errorf("config with an undefined variable: exit %d, want 1", code)
	}
	out, code = berthOut(t, root, "--env", root, "config", "web", "-o", "json")
	var doc struct {
		Services map[string]struct {
			Source  string   `json:"source"`
			Command []string `json:"command"`
		} `json:"services"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != 0 || len(doc.Services) != 1 || doc.Services["web"].Source != "berth.yaml:3" || doc.Services["web"].Command[2] != "127.0.0.1:8081" {
		t.Fatalf("config web -o json: %d %v\n%s", code, err, out)
	}
	if out, code := berthEnv(t, root, "config", "wbe"); code != 1 || !strings.Contains(out, `did you mean "web"?`) {
		t.Fatalf("config wbe: %d %s", code, out)
	}
}

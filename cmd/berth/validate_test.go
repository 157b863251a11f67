package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestValidateReportsEveryUndefinedVariable(t *testing.T) {
	root := yamlEnvCLI(t, `version: 1
services:
  web:
    command: [TESTSVC, --tcp, "${WEB_ADDR:-ADDR1}"]
    health: {type: tcp, address: "${WEB_ADDR:-ADDR1}"}
  api:
    command: [TESTSVC, "${API_FLAG}"]
    env: {TOKEN: "${API_TOKEN:?put API_TOKEN in config/.env}"}
`)
	out, code := berthEnv(t, root, "validate")
	for _, want := range []string{"2 undefined variable(s)", "berth.yaml:7: ${API_FLAG} is not set", "berth.yaml:8: ${API_TOKEN} is not set: put API_TOKEN in config/.env"} {
		if code != 1 || !strings.Contains(out, want) {
			t.Errorf("validate: %d, lacks %q:\n%s", code, want, out)
		}
	}
	// The default is used at start; the undefined one fails api's start
	// with the same words.
	if out, code := berthEnv(t, root, "start", "web"); code != 0 {
		t.Fatalf("start web with a default: %d %s", code, out)
	}
	if out, code := berthEnv(t, root, "start", "api"); code != 1 || !strings.Contains(out, "${API_FLAG}") {
		t.Fatalf("start api: %d %s", code, out)
	}
	os.MkdirAll(filepath.Join(root, "config"), 0o755)
	os.WriteFile(filepath.Join(root, "config", ".env"), []byte("API_FLAG=--x\nAPI_TOKEN=t\n"), 0o644)
	if out, code := berthEnv(t, root, "validate"); code != 0 {
		t.Fatalf("validate with config/.env: %d %s", code, out)
	}
}

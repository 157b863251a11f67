package metadata

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func varEnv(t *testing.T, manifest, dotenv string) *Env {
	t.Helper()
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "config"), 0o755)
	os.WriteFile(filepath.Join(root, ManifestFile), []byte(manifest), 0o644)
	os.WriteFile(filepath.Join(root, "config", ".env"), []byte(dotenv), 0o644)
	os.WriteFile(filepath.Join(root, MetadataFile), []byte("template=test\nenvironment_root="+root+"\n"), 0o644)
	e, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestUndefinedVariablesWithLines(t *testing.T) {
	t.Setenv("FROM_SHELL", "1")
	e := varEnv(t, `version: 1
description: costs $5 and ${NOT_CHECKED}
services:
  a:
    command: [sh, -c, "echo ${FOO} ${BAR:-x} $$HOME ${ENV_ROOT}", "${FROM_SHELL}", "${FROM_ENV}"]
    env:
      X: "$BAZ"
      Y: "${NEED:?set NEED in config/.env}"
      Z: "${BROKEN"
`, "FROM_ENV=1\n")
	got := strings.Join(e.UndefinedVariables(), "\n")
	for _, want := range []string{
		"berth.yaml:5: ${FOO} is not set: define it in config/.env (or give a default: ${FOO:-value})",
		"berth.yaml:7: ${BAZ} is not set",
		"berth.yaml:8: ${NEED} is not set: set NEED in config/.env",
		"berth.yaml:9: ",
		"a ${ without its }",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	for _, not := range []string{"BAR", "HOME", "ENV_ROOT", "FROM_SHELL", "FROM_ENV", "NOT_CHECKED"} {
		if strings.Contains(got, not) {
			t.Errorf("%s reported:\n%s", not, got)
		}
	}
	if n := len(e.UndefinedVariables()); n != 4 {
		t.Errorf("%d problems, want 4:\n%s", n, got)
	}
}

// config/.env wins over the shell: an environment is the same whoever
// starts it from whichever shell.
func TestDotEnvWinsOverShell(t *testing.T) {
	t.Setenv("PORT_X", "from-shell")
	t.Setenv("ONLY_SHELL", "shell")
	e := varEnv(t, "version: 1\n", "PORT_X=from-env\n")
	vars, err := e.Vars("")
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{"${PORT_X}": "from-env", "${ONLY_SHELL}": "shell", "${PORT_X:-d}": "from-env"} {
		if got, err := Expand(in, vars); err != nil || got != want {
			t.Errorf("%s = %q %v, want %q", in, got, err, want)
		}
	}
}

func TestTaskArgumentsAreDefinedInTheirTask(t *testing.T) {
	root := t.TempDir()
	manifest := "version: 1\ntasks:\n  a:\n    args: [{name: state}]\n    run: [echo, \"${state}\"]\n  b:\n    run: [echo, \"${state}\"]\n"
	os.WriteFile(filepath.Join(root, ManifestFile), []byte(manifest), 0o644)
	os.WriteFile(filepath.Join(root, MetadataFile), []byte("template=x\nenvironment_root="+root+"\n"), 0o644)
	env, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	vs := env.UndefinedVariables()
	if len(vs) != 1 || !strings.Contains(vs[0], "berth.yaml:7: ${state}") {
		t.Fatalf("undefined = %v; want only task b's ${state}", vs)
	}
}

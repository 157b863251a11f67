package component

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berthdev/berth/metadata"
)

// cliRelease lays out a release as the OQTOPUS CLI leaves it: the downloaded
// tree (no .git, no berth marker) with the .venv its uv sync made.
func cliRelease(t *testing.T, dir string, venvs ...string) {
	t.Helper()
	for _, v := range venvs {
		if err := os.MkdirAll(filepath.Join(dir, v, "bin"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, "pyproject.toml"), []byte("[project]\n"), 0o644)
}

func TestCLIReleaseCountsAsInstalled(t *testing.T) {
	repo := newRepo(t, "v1.0.0", "v1.1.0")
	rule := []string{"core/.venv", "combiner/.venv"}
	env := newEnv(t, "", map[string]*metadata.Component{"engine": {Repo: repo.Bare, InstalledWhen: rule}}, "engine")
	dir, _ := env.ReleaseDir("engine", "v1.1.0")

	// Half of the CLI's rule: not installed, and berth leaves it alone.
	cliRelease(t, dir, "core/.venv")
	if _, err := Install(context.Background(), env, "engine", Target{Version: "v1.1.0"}, Options{}); err == nil || !strings.Contains(err.Error(), "--adopt") {
		t.Fatalf("a tree failing the rule: %v", err)
	}
	cliRelease(t, dir, "combiner/.venv")
	res, err := Install(context.Background(), env, "engine", Target{Version: "v1.1.0"}, Options{})
	if err != nil || !res.Reused || !res.Foreign {
		t.Fatalf("the CLI's release: %+v, %v", res, err)
	}
	if _, err := os.Stat(filepath.Join(dir, markerName)); err == nil {
		t.Error("berth wrote its marker into the CLI's release")
	}
	if err := CheckInstalled(env, "engine"); err != nil {
		t.Fatalf("bound to the CLI's release: %v", err)
	}
	l := ListVersions(context.Background(), Git{}, env, "engine", repo.Bare)
	if !strings.Contains(l.Format(), "* v1.1.0 (installed)") {
		t.Errorf("versions:\n%s", l.Format())
	}
	if _, err := Uninstall(context.Background(), env, "engine", Target{Version: "v1.1.0"}, nil); err != nil {
		t.Fatalf("uninstall of the CLI's release: %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("release still there: %v", err)
	}
}

func TestBerthInstallSatisfiesCLIRule(t *testing.T) {
	repo := newRepo(t, "v1.0.0")
	makeVenv := metadata.Step{Run: []string{"mkdir", "-p", "${COMPONENT_DIR}/.venv"}}
	env := newEnv(t, "", map[string]*metadata.Component{
		"good": {Repo: repo.Bare, Setup: []metadata.Step{makeVenv}, InstalledWhen: []string{".venv"}},
		"bad":  {Repo: repo.Bare, InstalledWhen: []string{".venv"}},
	}, "good", "bad")
	res, err := Install(context.Background(), env, "good", Target{Version: "v1.0.0"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !ruleHolds(res.Dir, []string{".venv"}) || !IsInstalled(res.Dir, false) {
		t.Fatalf("berth's install fails the CLI's rule or its own")
	}
	_, err = Install(context.Background(), env, "bad", Target{Version: "v1.0.0"}, Options{})
	if err == nil || !strings.Contains(err.Error(), "left no .venv") {
		t.Fatalf("setup without .venv: %v", err)
	}
	if bad, _ := env.ReleaseDir("bad", "v1.0.0"); IsInstalled(bad, false) || binding(t, env, "bad") != "" {
		t.Error("an install failing the rule counts as installed or got bound")
	}
}

func TestCLIBranchInstallCountsAsInstalled(t *testing.T) {
	repo := newRepo(t, "v1.0.0")
	env := newEnv(t, "", map[string]*metadata.Component{"gateway": {Repo: repo.Bare, InstalledWhen: []string{".venv"}}}, "gateway")
	env.UpdateMetadata(func(m *metadata.Metadata) error { m.Set("gateway_version", "branch:develop"); return nil })
	dir := env.BranchDir("gateway")
	cliRelease(t, dir, ".venv")
	if err := CheckInstalled(env, "gateway"); err != nil {
		t.Fatalf("the CLI's branch download: %v", err)
	}
	l := ListVersions(context.Background(), Git{}, env, "gateway", repo.Bare)
	if !strings.Contains(l.Format(), "* branch:develop (installed)") {
		t.Errorf("versions:\n%s", l.Format())
	}
	// berth replaces it with its own clone on request.
	env.Manifest.Components["gateway"].InstalledWhen = nil
	env.Manifest.Components["gateway"].Setup = []metadata.Step{{Run: []string{"mkdir", "-p", "${COMPONENT_DIR}/.venv"}}}
	if _, err := Install(context.Background(), env, "gateway", Target{Branch: "develop"}, Options{}); err == nil {
		t.Fatal("without the rule the CLI's tree is not berth's to replace")
	}
	env.Manifest.Components["gateway"].InstalledWhen = []string{".venv"}
	if _, err := Install(context.Background(), env, "gateway", Target{Branch: "develop"}, Options{}); err != nil {
		t.Fatal(err)
	}
	if !IsInstalled(dir, true) {
		t.Error("berth's branch install is not complete")
	}
}

package metadata

import (
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestInitBackendGolden pins every file the backend template writes, so a
// change to the OQTOPUS-compatible layout is always a deliberate one. Run
// `go test ./metadata -run Golden -update` to accept a change.
func TestInitBackendGolden(t *testing.T) {
	root := filepath.Join(t.TempDir(), "dev")
	install := filepath.Join(t.TempDir(), "releases")
	res, err := Init(InitOptions{Dir: root, Template: "backend", InstallRoot: install,
		Now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Name != "dev" || len(res.Kept) != 0 {
		t.Fatalf("result = %+v", res)
	}
	golden := filepath.Join("testdata", "golden", "backend")
	got := map[string]string{}
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() {
			if rel != "." {
				got[rel+"/"] = ""
			}
			return nil
		}
		data, _ := os.ReadFile(p)
		text := strings.ReplaceAll(string(data), root, "@ROOT@")
		got[rel] = strings.ReplaceAll(text, install, "@INSTALL_ROOT@")
		return nil
	})
	var listing []string
	for k := range got {
		listing = append(listing, k)
	}
	sort.Strings(listing)
	got["LISTING"] = strings.Join(listing, "\n") + "\n"
	if *update {
		os.RemoveAll(golden)
		for rel, text := range got {
			if strings.HasSuffix(rel, "/") {
				continue
			}
			p := filepath.Join(golden, rel)
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	for rel, text := range got {
		if strings.HasSuffix(rel, "/") {
			continue
		}
		want, err := os.ReadFile(filepath.Join(golden, rel))
		if err != nil {
			t.Errorf("%s: no golden file (run with -update to accept it): %v", rel, err)
			continue
		}
		if string(want) != text {
			t.Errorf("%s differs from its golden file:\n--- got\n%s\n--- want\n%s", rel, text, want)
		}
	}
}

func TestInitEveryTemplateValidates(t *testing.T) {
	for _, tmpl := range Templates() {
		t.Run(tmpl, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "env-"+tmpl)
			if _, err := Init(InitOptions{Dir: root, Template: tmpl, InstallRoot: t.TempDir()}); err != nil {
				t.Fatal(err)
			}
			env, err := Open(root)
			if err != nil {
				t.Fatal(err)
			}
			if env.Name() != "env-"+tmpl {
				t.Errorf("name = %q", env.Name())
			}
			for _, svc := range env.Manifest.ServiceOrder {
				if fi, err := os.Stat(env.Path("logs", svc)); err != nil || !fi.IsDir() {
					t.Errorf("logs/%s/ missing", svc)
				}
			}
			if _, err := os.Stat(env.Path("pids")); err != nil {
				t.Error("pids/ missing")
			}
		})
	}
}

func TestInitBackendSemantics(t *testing.T) {
	root := filepath.Join(t.TempDir(), "lab")
	if _, err := Init(InitOptions{Dir: root, Template: "backend", InstallRoot: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	env, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	m := env.Manifest
	if got := strings.Join(m.ComponentOrder, ","); got != "engine,tranqu,gateway" {
		t.Errorf("components = %s", got)
	}
	if got := strings.Join(m.ServiceOrder, ","); got != "core,sse_engine,mitigator,estimator,combiner,tranqu,gateway" {
		t.Errorf("status order = %s", got)
	}
	if got := strings.Join(m.StartOrder, ","); got != "gateway,tranqu,mitigator,estimator,combiner,sse_engine,core" {
		t.Errorf("start order = %s", got)
	}
	if v, _ := env.DotEnv.Get("SSE_CONTAINER_IMAGE"); v != "lab-sse_runtime:latest" {
		t.Errorf("SSE_CONTAINER_IMAGE = %q", v)
	}
	if _, err := os.Stat(env.Path("sse_work")); err != nil {
		t.Error("sse_work/ missing")
	}
	for _, svc := range m.ServiceOrder {
		for _, f := range []string{"config.yaml", "logging.yaml"} {
			if _, err := os.Stat(env.Path("config", svc, f)); err != nil {
				t.Errorf("config/%s/%s missing", svc, f)
			}
		}
		s := m.Services[svc]
		if s.Runner != RunnerProcess || s.Log != nil || s.StopGrace() != 5*time.Second || s.StopSignalOf().String() != "terminated" {
			t.Errorf("%s: runner %s, log %v, grace %v, signal %v: want process, discard, 5s, TERM", svc, s.Runner, s.Log, s.StopGrace(), s.StopSignalOf())
		}
		if len(s.UnsetEnv) != 1 || s.UnsetEnv[0] != "VIRTUAL_ENV" {
			t.Errorf("%s: unset_env = %v", svc, s.UnsetEnv)
		}
	}
	// Service commands exactly as the OQTOPUS CLI runs them.
	if err := env.UpdateMetadata(func(md *Metadata) error {
		md.Set(BindingKey("engine"), "v2.1.1")
		md.Set(BindingKey("gateway"), "branch:develop")
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	expand := func(svc string) string {
		s := m.Services[svc]
		vars, err := env.Vars(s.Component)
		if err != nil {
			t.Fatal(err)
		}
		var argv []string
		for _, a := range s.Command {
			x, err := Expand(a, vars)
			if err != nil {
				t.Fatal(err)
			}
			argv = append(argv, x)
		}
		return strings.Join(argv, " ")
	}
	rel := releaseDir(t, env, "engine", "v2.1.1")
	want := map[string]string{
		"core":       "uv run --project " + rel + "/core python -m oqtopus_engine_core.app -c " + root + "/config/core/config.yaml -l " + root + "/config/core/logging.yaml",
		"sse_engine": "uv run --project " + rel + "/core python -m oqtopus_engine_core.app -c " + root + "/config/sse_engine/config.yaml -l " + root + "/config/sse_engine/logging.yaml",
		"mitigator":  "uv run --project " + rel + "/mitigator python -m oqtopus_engine_mitigator.app -c " + root + "/config/mitigator/config.yaml -l " + root + "/config/mitigator/logging.yaml",
		"gateway":    "uv run --project " + root + "/gateway python -m device_gateway.service -c " + root + "/config/gateway/config.yaml -l " + root + "/config/gateway/logging.yaml",
	}
	for svc, w := range want {
		if got := expand(svc); got != w {
			t.Errorf("%s command:\n got %s\nwant %s", svc, got, w)
		}
	}
	var nie *NotInstalledError
	if _, err := env.Vars("tranqu"); !errors.As(err, &nie) || !strings.Contains(err.Error(), "berth install tranqu") {
		t.Errorf("unbound tranqu: %v", err)
	}
}

func TestInitRefusals(t *testing.T) {
	t.Run("non-empty directory", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "mine.txt"), []byte("keep"), 0o644)
		_, err := Init(InitOptions{Dir: dir, Template: "demo", Name: "x"})
		if err == nil || !strings.Contains(err.Error(), "--force") {
			t.Fatalf("err = %v", err)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 1 {
			t.Fatalf("init wrote into a refused directory: %v", entries)
		}
	})
	t.Run("force keeps existing files", func(t *testing.T) {
		dir := t.TempDir()
		os.MkdirAll(filepath.Join(dir, "config"), 0o755)
		os.WriteFile(filepath.Join(dir, "config", ".env"), []byte("MINE=1\n"), 0o600)
		res, err := Init(InitOptions{Dir: dir, Template: "demo", Name: "x", Force: true, InstallRoot: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		if data, _ := os.ReadFile(filepath.Join(dir, "config", ".env")); string(data) != "MINE=1\n" {
			t.Fatalf(".env overwritten: %q", data)
		}
		if len(res.Kept) != 1 || res.Kept[0] != "config/.env" {
			t.Fatalf("kept = %v", res.Kept)
		}
	})
	t.Run("existing environment", func(t *testing.T) {
		dir := t.TempDir()
		if _, err := Init(InitOptions{Dir: dir, Template: "demo", Name: "x", InstallRoot: t.TempDir()}); err != nil {
			t.Fatal(err)
		}
		if _, err := Init(InitOptions{Dir: dir, Template: "demo", Name: "x"}); err == nil || !strings.Contains(err.Error(), "already an environment") {
			t.Fatalf("err = %v", err)
		}
		if _, err := Init(InitOptions{Dir: dir, Template: "backend", Force: true}); err == nil || !strings.Contains(err.Error(), `template "demo", not "backend"`) {
			t.Fatalf("another template: %v", err)
		}
	})
	for _, bad := range []string{"Upper", "-dash", "a/b", "a b", ".hidden", ""} {
		t.Run("name "+bad, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "new")
			name := bad
			if bad == "" {
				dir = filepath.Join(t.TempDir(), "Bad Dir")
			}
			_, err := Init(InitOptions{Dir: dir, Template: "demo", Name: name})
			if err == nil || !strings.Contains(err.Error(), "invalid environment name") {
				t.Fatalf("err = %v", err)
			}
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("refused init left %s behind", dir)
			}
		})
	}
	t.Run("unknown template", func(t *testing.T) {
		_, err := Init(InitOptions{Dir: t.TempDir(), Template: "nope"})
		if err == nil || !strings.Contains(err.Error(), "backend, cloud-local, demo") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestFindRootAndMoved(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "env")
	if _, err := Init(InitOptions{Dir: root, Template: "demo", InstallRoot: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	deep := filepath.Join(root, "logs", "web")
	if got, err := FindRoot(deep, ""); err != nil || got != root {
		t.Fatalf("FindRoot from inside = %q, %v", got, err)
	}
	var ne *NoEnvironmentError
	if _, err := FindRoot(base, ""); !errors.As(err, &ne) || !strings.Contains(err.Error(), "berth init") {
		t.Fatalf("outside: %v", err)
	}
	if got, err := FindRoot(base, root); err != nil || got != root {
		t.Fatalf("override = %q, %v", got, err)
	}
	if _, err := FindRoot(root, base); err == nil || !strings.Contains(err.Error(), "not a berth environment") {
		t.Fatalf("bad override: %v", err)
	}
	moved := filepath.Join(base, "moved")
	if err := os.Rename(root, moved); err != nil {
		t.Fatal(err)
	}
	var me *MovedError
	if _, err := Open(moved); !errors.As(err, &me) || !strings.Contains(err.Error(), "berth relocate") {
		t.Fatalf("moved: %v", err)
	}
}

func TestExpand(t *testing.T) {
	vars := func(k string) (string, bool) {
		v, ok := map[string]string{"A": "1", "EMPTY": ""}[k]
		return v, ok
	}
	for in, want := range map[string]string{"${A}/x": "1/x", "$A$A": "11", "cost $$5": "cost $5", "${EMPTY}z": "z", "plain": "plain",
		"${A:-9}": "1", "${NOPE:-8080}": "8080", "${EMPTY:-x}": "x", "--port=${NOPE:-}": "--port="} {
		if got, err := Expand(in, vars); err != nil || got != want {
			t.Errorf("Expand(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := Expand("${NOPE}", vars); err == nil || !strings.Contains(err.Error(), "${NOPE}") {
		t.Errorf("missing variable: %v", err)
	}
}

func releaseDir(t testing.TB, env *Env, component, version string) string {
	t.Helper()
	dir, err := env.ReleaseDir(component, version)
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

package main

import (
	"os"
	"os/exec"
	goruntime "runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionFromBuildInfo(t *testing.T) {
	info := func(v string, settings ...string) *debug.BuildInfo {
		bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/berthdev/berth", Version: v}}
		for i := 0; i+1 < len(settings); i += 2 {
			bi.Settings = append(bi.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
		}
		return bi
	}
	for _, tt := range []struct {
		bi   *debug.BuildInfo
		want string
	}{
		{info("v1.2.3"), "v1.2.3 (go1.26.8)"},
		{info("(devel)", "vcs.revision", "00bd9f9c4758dd492e9e45023842e1c78bd3c199", "vcs.time", "2026-11-29T12:29:20Z", "vcs.modified", "false"),
			"(devel) (commit 00bd9f9c4758, 2026-11-29T12:29:20Z, go1.26.8)"},
		{info("v0.0.0-20261129122920-00bd9f9c4758", "vcs.revision", "00bd9f9c4758dd49", "vcs.modified", "true"),
			"v0.0.0-20261129122920-00bd9f9c4758 (commit 00bd9f9c4758+dirty, go1.26.8)"},
		{nil, "unknown (no build information)"},
	} {
		if got := versionString(tt.bi, tt.bi != nil); got != tt.want {
			t.Errorf("versionString = %q, want %q", got, tt.want)
		}
	}
	// -ldflags -X main.version=... wins.
	old := version
	version = "v9.9.9"
	defer func() { version = old }()
	if got := versionString(info("v1.2.3"), true); got != "v9.9.9" {
		t.Errorf("with -X main.version: %q", got)
	}
}

func TestVersionFlagOfTheBinary(t *testing.T) {
	r := berth(t, t.TempDir(), nil, "--version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "berth version ") || strings.Contains(r.stdout, "version dev") || !strings.Contains(r.stdout, goruntime.Version()) {
		t.Fatalf("--version: %+v", r)
	}
}

// TestHugeHeapInitialisesFirst: internal/hugeheap advises the heap before
// the packages that allocate most at start (the Docker client's
// distribution/reference, semver) run their init. Go initialises packages
// in import-path order as far as their imports allow, which puts it early.
func TestHugeHeapInitialisesFirst(t *testing.T) {
	cmd := exec.Command(berthBin, "--version")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	order := map[string]int{}
	for i, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[0] == "init" {
			order[f[1]] = i + 1
		}
	}
	first := order["github.com/berthdev/berth/internal/hugeheap"]
	if first == 0 {
		t.Fatalf("internal/hugeheap did not initialise:\n%s", out)
	}
	for _, later := range []string{"github.com/distribution/reference", "github.com/Masterminds/semver/v3", "github.com/opencontainers/go-digest", "go.yaml.in/yaml/v3"} {
		if n := order[later]; n == 0 || n < first {
			t.Errorf("%s initialised at %d, internal/hugeheap at %d", later, n, first)
		}
	}
}

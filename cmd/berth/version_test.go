package main

import (
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

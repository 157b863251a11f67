package component

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berthdev/berth/metadata"
)

func TestCheckInstalledAndAdopt(t *testing.T) {
	root := filepath.Join(t.TempDir(), "env")
	if _, err := metadata.Init(metadata.InitOptions{Dir: root, Template: "backend", InstallRoot: filepath.Join(t.TempDir(), "rel")}); err != nil {
		t.Fatal(err)
	}
	env, err := metadata.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	var nie *metadata.NotInstalledError
	if err := CheckInstalled(env, "engine"); !errors.As(err, &nie) {
		t.Fatalf("unbound: %v", err)
	}
	env.UpdateMetadata(func(m *metadata.Metadata) error { m.Set("engine_version", "v2.1.1"); return nil })
	dir := env.ReleaseDir("engine", "v2.1.1")
	if err := Adopt(dir, "engine", "v2.1.1"); err == nil {
		t.Fatal("adopted a missing directory")
	}
	os.MkdirAll(dir, 0o755)
	if err := CheckInstalled(env, "engine"); err == nil || !strings.Contains(err.Error(), "berth install engine v2.1.1") {
		t.Fatalf("foreign dir: %v", err)
	}
	if err := writeMarker(releaseMarker(dir), marker{State: "incomplete", Component: "engine", Version: "v2.1.1"}); err != nil {
		t.Fatal(err)
	}
	if err := Adopt(dir, "engine", "v2.1.1"); err == nil || !strings.Contains(err.Error(), "unfinished install") {
		t.Fatalf("adopt of an unfinished install: %v", err)
	}
	os.Remove(releaseMarker(dir))
	if err := Adopt(dir, "engine", "v2.1.1"); err != nil {
		t.Fatal(err)
	}
	if err := CheckInstalled(env, "engine"); err != nil {
		t.Fatalf("after adopt: %v", err)
	}
}

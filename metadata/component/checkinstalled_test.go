package component

import (
	"context"
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
	dir := releaseDir(t, env, "engine", "v2.1.1")
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

func TestInstallAdopt(t *testing.T) {
	repo := newRepo(t, "v1.0.0", "v1.1.0")
	env := newEnv(t, "", map[string]*metadata.Component{"app": {Repo: repo.Bare}}, "app")
	dir := releaseDir(t, env, "app", "v1.1.0")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "precious"), []byte("keep me"), 0o644)
	res, err := Install(context.Background(), env, "app", Target{Version: "v1.1.0"}, Options{Adopt: true})
	if err != nil || !res.Reused {
		t.Fatalf("adopt: %+v, %v", res, err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "precious")); string(b) != "keep me" {
		t.Fatal("adopt changed the tree")
	}
	if v, _ := env.Meta.Get("app_version"); v != "v1.1.0" {
		t.Fatalf("binding = %q", v)
	}
	if err := CheckInstalled(env, "app"); err != nil {
		t.Fatal(err)
	}
	link := releaseDir(t, env, "app", "v1.0.0")
	os.Symlink(env.Root, link)
	if _, err := Install(context.Background(), env, "app", Target{Version: "v1.0.0"}, Options{Adopt: true}); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("adopt of a symlink: %v", err)
	}
	if _, err := os.Stat(filepath.Join(env.Root, ".berth-install")); err == nil {
		t.Fatal("adopt wrote through the symlink")
	}
}

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berthdev/berth/metadata"
)

func TestStatusServicesAndFilter(t *testing.T) {
	root := lifecycleEnv(t, [2]string{"core", ""}, [2]string{"gateway", ""}, [2]string{"web", ""})
	if out, code := berthEnv(t, root, "start", "core", "web"); code != 0 {
		t.Fatalf("start: %d %s", code, out)
	}
	for _, tt := range []struct {
		args []string
		want string
		code int
	}{
		{[]string{"status", "--services"}, "core\ngateway\nweb\n", 0},
		{[]string{"status", "--filter", "state=running", "--services"}, "core\nweb\n", 0},
		{[]string{"ps", "--filter", "state=stopped"}, "gateway: Stopped\n", 0},
		{[]string{"status", "--filter", "state=running", "--filter", "state=stopped", "--services"}, "core\ngateway\nweb\n", 0},
		{[]string{"status", "--filter", "runner=container", "--services"}, "", 0},
		{[]string{"status", "--filter", "health=no check", "--services"}, "core\nweb\n", 0},
		{[]string{"status", "core", "--filter", "state=running", "--services"}, "core\n", 0},
		{[]string{"status", "--filter", "state=up"}, "invalid --filter state=\"up\": use one of running, stopped, unknown", 2},
		{[]string{"status", "--filter", "color=red"}, `unknown --filter key "color"`, 2},
		{[]string{"status", "--filter", "state"}, "give KEY=VALUE", 2},
		{[]string{"status", "--services", "-o", "json"}, "takes no -o", 2},
	} {
		out, code := berthEnv(t, root, tt.args...)
		if code != tt.code || (code == 0 && out != tt.want) || (code != 0 && !strings.Contains(out, tt.want)) {
			t.Errorf("%v: %d %q, want %d %q", tt.args, code, out, tt.code, tt.want)
		}
	}
	out, code := berthEnv(t, root, "status", "-o", "wide", "--filter", "state=running")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 3 || !strings.Contains(lines[0], "HEALTH") || !strings.Contains(lines[0], "PORTS") || !strings.Contains(lines[0], "IMAGE") || !strings.HasPrefix(lines[1], "core ") {
		t.Fatalf("status -o wide: %d\n%s", code, out)
	}
}

func TestWideInfoOfContainers(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "config"), 0o755)
	os.WriteFile(filepath.Join(root, "config", ".env"), []byte("BOX_PORT=8181\n"), 0o644)
	os.WriteFile(filepath.Join(root, ".metadata"), []byte("template=test\nenvironment_root="+root+"\n"), 0o644)
	os.WriteFile(filepath.Join(root, "berth.yaml"), []byte(`version: 1
services:
  box:
    runner: container
    container: {image: "busybox:1", ports: ["127.0.0.1:${BOX_PORT}:80", "9000:9000"]}
  host: {command: [sh]}
`), 0o644)
	env, err := metadata.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	w := newWideInfo(env)
	if got := w.columns("box"); got != "127.0.0.1:8181:80,9000:9000\tbusybox:1" {
		t.Errorf("box: %q", got)
	}
	if got := w.columns("host"); got != "-\t-" {
		t.Errorf("host: %q", got)
	}
}

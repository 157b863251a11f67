package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth/hack/testkit"
	"github.com/berthdev/berth/metadata"
)

const logsManifest = `version: 1
services:
  web:
    command: [sleep, "1"]
    log: {to: file}
  core:
    command: [sleep, "1"]
    app_log: logs/core/core.log
  both:
    command: [sleep, "1"]
    log: {to: file, path: logs/both/out.log}
    app_log: logs/both/app.log
  quiet:
    command: [sleep, "1"]
  box:
    runner: container
    container: {image: example}
`

// logsEnv makes an environment with logsManifest and some log files.
func logsEnv(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "env")
	if _, err := metadata.Init(metadata.InitOptions{Dir: dir, Template: "demo", Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"berth.yaml":             logsManifest,
		"logs/web/service.log.1": "web old\n",
		"logs/web/service.log":   "web 1\nweb 2\n",
		"logs/core/core.log":     "2025-03-18 10:00:00,000 INFO core: early\n2025-03-18 12:00:00,000 INFO core: late\n",
		"logs/both/app.log":      "both app\n",
		"logs/both/out.log":      "both out\n",
		"logs/core/service.log":  "not read: core keeps no output\n",
		"logs/quiet/service.log": "not read: quiet has no log settings\n",
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLogsCommand(t *testing.T) {
	t.Setenv("NO_COLOR", "")
	dir := logsEnv(t)
	since := time.Date(2025, 3, 18, 11, 0, 0, 0, time.Local).Format(time.RFC3339)
	tests := []struct {
		name     string
		args     []string
		code     int
		stdout   string
		stderrIn string
	}{
		{"one service with rotation", []string{"logs", "web"}, 0, "web old\nweb 1\nweb 2\n", ""},
		{"tail", []string{"logs", "web", "-n", "1"}, 0, "web 2\n", ""},
		{"since", []string{"logs", "core", "--since", since}, 0, "2025-03-18 12:00:00,000 INFO core: late\n", ""},
		{"since on a file without timestamps warns", []string{"logs", "web", "--since", since}, 0, "web old\nweb 1\nweb 2\n", "web/service.log has no timestamps on its lines: --since " + since + " cannot filter them"},
		{"app log preferred", []string{"logs", "both"}, 0, "both app\n", ""},
		{"stdout asked for", []string{"logs", "both", "--stdout"}, 0, "both out\n", ""},
		{"several services are prefixed", []string{"logs", "web", "both", "-n", "1"}, 0, "web  | web 2\nboth | both app\n", ""},
		{"all", []string{"logs", "all", "-n", "1"}, 0, "web  | web 2\ncore | 2025-03-18 12:00:00,000 INFO core: late\nboth | both app\n", ""},
		{"no log file", []string{"logs", "quiet"}, 1, "", "service quiet has no log file: add `log: {to: file}`"},
		{"output not kept", []string{"logs", "core", "--stdout"}, 1, "", "the output of service core is not kept"},
		{"container", []string{"logs", "box"}, 1, "", "logs of box: "},
		{"unknown service", []string{"logs", "nope"}, 1, "", `unknown service "nope" (services: web, core, both, quiet, box)`},
		{"bad tail", []string{"logs", "web", "-n", "x"}, 2, "", `invalid --tail "x"`},
		{"bad since", []string{"logs", "web", "--since", "yesterday"}, 2, "", `invalid --since "yesterday"`},
		{"no service", []string{"logs"}, 2, "", "requires at least 1 arg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(append([]string{"--env", dir}, tt.args...), newStreams(nil, &out, &errb))
			if code != tt.code || out.String() != tt.stdout || !strings.Contains(errb.String(), tt.stderrIn) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d, stdout %q, stderr containing %q",
					code, out.String(), errb.String(), tt.code, tt.stdout, tt.stderrIn)
			}
			if tt.code == 0 && tt.stderrIn == "" && errb.Len() > 0 {
				t.Errorf("stderr %q; want nothing (stamped lines are filtered without a warning)", errb.String())
			}
		})
	}
}

func TestParseSince(t *testing.T) {
	now := time.Date(2025, 3, 18, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
	}{
		{"10m", now.Add(-10 * time.Minute)},
		{"2025-03-18T11:00:00Z", time.Date(2025, 3, 18, 11, 0, 0, 0, time.UTC)},
		{"2025-03-18", time.Date(2025, 3, 18, 0, 0, 0, 0, time.Local)},
	}
	for _, tt := range tests {
		got, err := parseSince(tt.in, now)
		if err != nil || !got.Equal(tt.want) {
			t.Errorf("parseSince(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	if _, err := parseSince("-5m", now); err == nil {
		t.Error("a negative duration must be refused")
	}
}

// syncBuffer is a bytes.Buffer safe to read while the command writes.
type syncBuffer struct {
	mu chan struct{}
	b  bytes.Buffer
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{mu: make(chan struct{}, 1)} }

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu <- struct{}{}
	defer func() { <-s.mu }()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu <- struct{}{}
	defer func() { <-s.mu }()
	return s.b.String()
}

func TestLogsFollowStopsOnCancel(t *testing.T) {
	dir := logsEnv(t)
	out := newSyncBuffer()
	root := newRootCommand(newStreams(nil, out, out))
	root.SetArgs([]string{"--env", dir, "logs", "web", "-f", "-n", "0"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()

	// Rotate while following: the new file's lines must appear.
	live := filepath.Join(dir, "logs/web/service.log")
	waitFor := func(want string) {
		t.Helper()
		testkit.Eventually(t, 5*time.Second, func() error {
			if !strings.Contains(out.String(), want) {
				return fmt.Errorf("output %q lacks %q", out.String(), want)
			}
			return nil
		})
	}
	f, err := os.OpenFile(live, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// The follower may not have opened the file yet; keep writing until it shows.
	testkit.Eventually(t, 5*time.Second, func() error {
		if !strings.Contains(out.String(), "web 3") {
			f.WriteString("web 3\n")
			return fmt.Errorf("no followed line: %q", out.String())
		}
		return nil
	})
	if err := os.Rename(live, live+".1"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(live, []byte("web after rotation\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor("web after rotation\n")
	if strings.Contains(out.String(), "web 1") {
		t.Errorf("-n 0 printed history: %q", out.String())
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("logs -f after Ctrl-C = %v, want a clean stop", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("logs -f did not stop within 2s of cancel")
	}
}

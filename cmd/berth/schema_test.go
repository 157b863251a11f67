package main

import (
	"bufio"
	"bytes"
	"context"
	"github.com/docker/docker/api/types/image"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// outputSchema compiles the documented schema of -o json.
type outputSchema struct {
	t *testing.T
	c *jsonschema.Compiler
	// seen are the commands whose real output was validated.
	seen map[string]bool
}

func newOutputSchema(t *testing.T) *outputSchema {
	t.Helper()
	f, err := os.Open("../../schema/berth-output.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("berth-output.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	return &outputSchema{t: t, c: c, seen: map[string]bool{}}
}

// check validates out against the schema's definition def; command is the
// berth command it came from.
func (s *outputSchema) check(command, def, out string) {
	s.t.Helper()
	sch, err := s.c.Compile("berth-output.schema.json#/$defs/" + def)
	if err != nil {
		s.t.Fatalf("schema %s: %v", def, err)
	}
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(out))
	if err != nil {
		s.t.Errorf("%s -o json printed no JSON document (%v):\n%s", command, err, out)
		return
	}
	if err := sch.Validate(v); err != nil {
		s.t.Errorf("%s -o json does not match $defs/%s: %v\n%s", command, def, err, out)
		return
	}
	s.seen[command] = true
}

// jsonCommands are the commands whose -o takes json.
func jsonCommands() []string {
	root := newRootCommand(newStreams(nil, io.Discard, io.Discard))
	var out []string
	for _, c := range root.Commands() {
		if f := c.Flags().Lookup("output"); f != nil && strings.Contains(f.Usage, "json") {
			out = append(out, c.Name())
		}
	}
	sort.Strings(out)
	return out
}

func TestJSONOutputMatchesTheSchema(t *testing.T) {
	s := newOutputSchema(t)
	root := yamlEnvCLI(t, cliManifest)
	jsonOf := func(def string, args ...string) string {
		t.Helper()
		out, _ := berthOut(t, root, append([]string{"--env", root}, append(args, "-o", "json")...)...)
		s.check(args[0], def, out)
		return out
	}
	jsonOf("status", "status")
	jsonOf("start", "start", "db")
	jsonOf("start", "up", "web")
	jsonOf("status", "ps")
	jsonOf("health", "health")
	jsonOf("deps", "deps")
	jsonOf("deps_one", "deps", "api")
	jsonOf("info", "info")
	jsonOf("config", "config")
	jsonOf("doctor", "doctor")
	jsonOf("restart", "restart", "web")
	jsonOf("stop", "stop", "web")
	jsonOf("stop", "down", "--yes")

	// health --watch prints one object per line.
	cmd := exec.Command(berthBin, "--env", root, "health", "--watch", "-o", "json")
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			line <- sc.Text()
		}
		close(line)
	}()
	select {
	case l := <-line:
		s.check("health --watch", "health_watch_line", l)
	case <-time.After(10 * time.Second):
		t.Error("health --watch -o json printed nothing in 10 s")
	}
	cmd.Process.Kill()
	cmd.Wait()

	// Errors: one object on stdout, the same exit code as without -o json.
	for _, args := range [][]string{{"start", "nope"}, {"stop", "dbb"}, {"status", "x"}, {"deps", "x"}, {"health", "x"}, {"events", "x"}, {"logs", "nope"}} {
		out, code := berthOut(t, root, append([]string{"--env", root}, append(args, "-o", "json")...)...)
		if args[0] == "logs" {
			// logs has no -o: a usage error, and no JSON.
			if code != 2 || out != "" {
				t.Errorf("logs -o json: %d %q", code, out)
			}
			continue
		}
		s.check("error", "error", out)
		_, plain := berthOut(t, root, append([]string{"--env", root}, args...)...)
		if code != plain || code == 0 || !strings.Contains(out, `"service": "`+args[1]+`"`) {
			t.Errorf("%v -o json: exit %d (plain %d), %s", args, code, plain, out)
		}
	}

	// The supervisor's event log.
	sup := yamlEnvCLI(t, "version: 1\nsupervisor: true\nservices:\n  sup:\n    command: [TESTSVC]\n")
	if out, code := berthEnv(t, sup, "start", "sup"); code != 0 {
		t.Fatalf("start under the supervisor: %d %s", code, out)
	}
	out, _ := berthOut(t, sup, "--env", sup, "events", "-o", "json")
	s.check("events", "events", out)
	if !strings.Contains(out, `"event": "started"`) {
		t.Errorf("events -o json: no start event:\n%s", out)
	}

	// Components: versions, install, update, uninstall.
	f := newComponentFixture(t, "")
	inProc := func(def string, args ...string) {
		t.Helper()
		var out bytes.Buffer
		code := run(append([]string{"--env", f.env}, append(args, "-o", "json")...), newStreams(nil, &out, io.Discard))
		if code != 0 {
			t.Errorf("%v: exit %d %s", args, code, out.String())
		}
		s.check(args[0], def, out.String())
	}
	inProc("install", "install", "app", "v1.0.0")
	inProc("install", "update", "app")
	inProc("versions", "versions", "app")
	inProc("uninstall", "uninstall", "app", "v1.0.0")

	// Images need a daemon (skipped without one unless BERTH_REQUIRE_DOCKER=1).
	daemon := false
	t.Run("images", func(t *testing.T) {
		c := requireDaemon(t)
		daemon = true
		tag := uniqueEnvName("berth-schema-") + ":latest"
		t.Cleanup(func() { c.ImageRemove(context.Background(), tag, image.RemoveOptions{Force: true}) })
		img := imageEnv(t, "SSE_CONTAINER_IMAGE="+tag+"\n")
		out, _ := berthOut(t, img, "--env", img, "build", "all", "-o", "json")
		s.check("build", "build", out)
		out, _ = berthOut(t, img, "--env", img, "images", "-o", "json")
		s.check("images", "images", out)
		dir, _, _ := pullEnv(t)
		out, _ = berthOut(t, dir, "pull", "-o", "json")
		s.check("pull", "pull", out)
	})

	for _, c := range jsonCommands() {
		if !s.seen[c] && (daemon || c != "build" && c != "images" && c != "pull") {
			t.Errorf("%s takes -o json but its output was not validated against the schema", c)
		}
	}
}

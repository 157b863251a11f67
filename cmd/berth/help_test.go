package main

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// TestHelpOfEveryCommand: every command a user sees has a long description
// and examples, each example names real commands and flags, and no flag's
// help turns a `code span` into a value name.
func TestHelpOfEveryCommand(t *testing.T) {
	root := newRootCommand(newStreams(nil, io.Discard, io.Discard))
	checked := 0
	for _, c := range root.Commands() {
		if c.Hidden || c.Name() == "help" {
			continue
		}
		if c.Long == "" {
			t.Errorf("%s has no long description", c.Name())
		}
		if c.Example == "" {
			t.Errorf("%s has no examples", c.Name())
		}
		for _, line := range strings.Split(c.Example, "\n") {
			if i := strings.Index(line, " #"); i >= 0 {
				line = line[:i]
			}
			for _, part := range strings.Split(line, "&&") {
				words := strings.Fields(part)
				if len(words) < 2 || words[0] != "berth" {
					continue
				}
				checkInvocation(t, root, words[1:], line)
				checked++
			}
		}
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if name, _ := pflag.UnquoteUsage(f); strings.Contains(name, " ") || strings.Contains(f.Usage, "`") {
				t.Errorf("%s --%s: its help %q shows %q as the value's name", c.Name(), f.Name, f.Usage, name)
			}
		})
	}
	if checked < 40 {
		t.Fatalf("checked only %d example lines", checked)
	}
}

func TestEnvFlagOnlyWhereItApplies(t *testing.T) {
	help := func(args ...string) string {
		var out bytes.Buffer
		root := newRootCommand(newStreams(nil, &out, io.Discard))
		root.SetArgs(append(args, "--help"))
		if err := root.Execute(); err != nil {
			t.Fatal(err)
		}
		return out.String()
	}
	args := map[string][]string{"init": {"x"}, "demo": nil, "completion": {"bash"}}
	for _, cmd := range []string{"init", "demo", "completion"} {
		if h := help(cmd); strings.Contains(h, "--env") {
			t.Errorf("%s --help lists --env:\n%s", cmd, h)
		}
		var errOut bytes.Buffer
		if code := run(append([]string{cmd, "--env", t.TempDir()}, args[cmd]...), newStreams(nil, io.Discard, &errOut)); code != 2 || !strings.Contains(errOut.String(), "--env does not apply to "+cmd) {
			t.Errorf("%s --env: exit %d %s", cmd, code, errOut.String())
		}
	}
	for _, cmd := range []string{"start", "status", "versions"} {
		if h := help(cmd); !strings.Contains(h, "--env") {
			t.Errorf("%s --help does not list --env", cmd)
		}
	}
}

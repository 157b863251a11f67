package main

import (
	"io"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestREADMENamesRealCommandsAndFlags checks every `berth ...` the README
// shows in code (spans and fenced blocks): the command exists and each flag
// it names is one of that command's. hack/readme-check.sh runs the README's
// walkthrough; this covers the reference tables and illustrations too.
func TestREADMENamesRealCommandsAndFlags(t *testing.T) {
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var code []string
	inFence := false
	span := regexp.MustCompile("`([^`]+)`")
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "```") {
			inFence = !inFence
			continue
		}
		if inFence {
			if i := strings.Index(line, " #"); i >= 0 {
				line = line[:i] // a shell comment is prose
			}
			code = append(code, line)
			continue
		}
		for _, m := range span.FindAllStringSubmatch(line, -1) {
			code = append(code, m[1])
		}
	}
	root := newRootCommand(newStreams(nil, io.Discard, io.Discard))
	root.InitDefaultCompletionCmd()
	invocation := regexp.MustCompile(`(?:^|[\s(;&])berth\s+([^#;&()]*)`)
	checked := 0
	for _, text := range code {
		for _, m := range invocation.FindAllStringSubmatch(text, -1) {
			words := strings.Fields(strings.NewReplacer(`\|`, "|", "[", " ", "]", " ").Replace(m[1]))
			if len(words) == 0 || strings.HasPrefix(words[0], "-") && words[0] != "--env" {
				continue // `berth --version` and the like are root flags, checked below
			}
			for _, alt := range strings.Split(words[0], "|") {
				checkInvocation(t, root, append([]string{alt}, words[1:]...), text)
				checked++
			}
		}
	}
	if checked < 30 {
		t.Fatalf("found only %d berth invocations in README.md: the extraction is broken", checked)
	}
}

func checkInvocation(t *testing.T, root *cobra.Command, words []string, text string) {
	t.Helper()
	var path []string
	for len(words) > 0 && !strings.HasPrefix(words[0], "-") {
		path = append(path, words[0])
		words = words[1:]
	}
	if len(path) > 0 && path[0] == strings.ToUpper(path[0]) {
		return // a placeholder: `berth COMMAND --help`
	}
	cmd, rest, err := root.Find(path)
	if err != nil || cmd == root {
		t.Errorf("README shows `berth %s`, but there is no such command (in %q)", strings.Join(path, " "), text)
		return
	}
	_ = rest // the command's arguments: service names, versions, DIR...
	for _, w := range words {
		if w == "--" {
			break // what follows is another program's command line (berth exec)
		}
		for _, alt := range strings.Split(w, "|") {
			if !strings.HasPrefix(alt, "-") || alt == "-" {
				continue
			}
			name, _, _ := strings.Cut(strings.TrimLeft(alt, "-"), "=")
			var found bool
			if strings.HasPrefix(alt, "--") {
				found = cmd.Flags().Lookup(name) != nil || cmd.InheritedFlags().Lookup(name) != nil
			} else {
				found = cmd.Flags().ShorthandLookup(name) != nil || cmd.InheritedFlags().ShorthandLookup(name) != nil
			}
			if !found {
				t.Errorf("README shows `berth %s ... %s`, but %s has no such flag (in %q)", cmd.Name(), alt, cmd.CommandPath(), text)
			}
		}
	}
}

package main

import (
	"bytes"
	"io"
	"slices"
	"testing"
)

// TestCommandTableNames: each entry of commands answers to exactly the
// names the command it builds has, so a run that names a command builds
// the one cobra would have found in the whole tree.
func TestCommandTableNames(t *testing.T) {
	full := newRootCommand(newStreams(nil, io.Discard, io.Discard))
	seen := map[string]bool{}
	for _, cmd := range commands {
		c := cmd.build(&globalOptions{streams: newStreams(nil, io.Discard, io.Discard)})
		want := append([]string{c.Name()}, c.Aliases...)
		if !slices.Equal(cmd.names, want) {
			t.Errorf("table names %v, the command it builds %v", cmd.names, want)
		}
		seen[c.Name()] = true
	}
	for _, c := range full.Commands() {
		if !seen[c.Name()] && c.Name() != "completion" && c.Name() != "help" {
			t.Errorf("%s is in the tree but not in the table", c.Name())
		}
	}
}

// TestLazyTreeAgrees: a run that builds only the command it names prints
// the same help, and the same usage error, as the whole tree.
func TestLazyTreeAgrees(t *testing.T) {
	execute := func(lazy bool, args []string) (string, error) {
		var out bytes.Buffer
		r := newRootCommand(newStreams(nil, &out, &out))
		if lazy {
			r = newRootCommandFor(newStreams(nil, &out, &out), args)
		}
		r.SetArgs(args)
		_, err := r.ExecuteC()
		return out.String(), err
	}
	var cases [][]string
	for _, cmd := range commands {
		for _, name := range cmd.names {
			cases = append(cases, []string{name, "--help"}, []string{"--env", "/nonexistent", name, "--no-such-flag"})
		}
	}
	cases = append(cases, []string{"--version"}, []string{"-v"}, []string{"supervisor", "status", "--help"}, []string{"internal", "--help"})
	for _, args := range cases {
		want, werr := execute(false, args)
		got, gerr := execute(true, args)
		if got != want || (werr == nil) != (gerr == nil) || (werr != nil && werr.Error() != gerr.Error()) {
			t.Errorf("berth %v: the lazy tree gives\n%s(%v)\nthe whole tree\n%s(%v)", args, got, gerr, want, werr)
		}
	}
	if invokedCommand([]string{"--help", "status"}) != nil || invokedCommand([]string{"help", "status"}) != nil ||
		invokedCommand([]string{"__complete", "status"}) != nil || invokedCommand([]string{"nosuch"}) != nil {
		t.Error("a run that is not a known command after --env built a partial tree")
	}
}

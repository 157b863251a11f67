package main

import (
	"bytes"
	"testing"
)

// The text form of doctor is what README documents: pass, FAIL for a
// required check that failed, warn for an optional one, the hint only on
// a failure.
func TestPrintChecks(t *testing.T) {
	var b bytes.Buffer
	printChecks(&b, []check{
		{Name: "docker", OK: true, Detail: "Docker 20.10", Hint: "unused"},
		{Name: "git", Required: true, Detail: "not found", Hint: "install git"},
		{Name: "uv", Detail: "not found", Hint: "install uv"},
		{Name: "disk", Detail: "full"},
	})
	want := "pass  docker    Docker 20.10\n" +
		"FAIL  git       not found: install git\n" +
		"warn  uv        not found: install uv\n" +
		"warn  disk      full\n"
	if b.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), want)
	}
}

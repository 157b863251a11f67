package metadata

import (
	"strings"
	"testing"
)

func TestExpandComposeForms(t *testing.T) {
	vars := map[string]string{"A": "1", "EMPTY": "", "PORT": "8080"}
	lookup := func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	for in, want := range map[string]string{
		"${A}": "1", "$A": "1", "x$A-y": "x1-y", "$$A": "$A", "a $$ b": "a $ b",
		"${A:-9}": "1", "${NOPE:-8080}": "8080", "${EMPTY:-x}": "x", "--port=${NOPE:-}": "--port=",
		"${A-9}": "1", "${NOPE-9}": "9", "${EMPTY-x}": "",
		"${A:+on}": "on", "${EMPTY:+on}": "", "${NOPE:+on}": "", "${EMPTY+on}": "on", "${NOPE+on}": "",
		"${A:?needed}": "1", "${EMPTY?needed}": "",
		"${NOPE:-${PORT}}": "8080", "${NOPE:-${NOPE2:-d}}": "d", "${A:-${NOPE}}": "1",
		"${NOPE:-{x}}": "{x}", "echo $1 $": "echo $1 $", "${NOPE:-a b}": "a b",
		"http://127.0.0.1:${PORT:-80}/health": "http://127.0.0.1:8080/health",
	} {
		got, err := Expand(in, lookup)
		if err != nil || got != want {
			t.Errorf("Expand(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for in, want := range map[string]string{
		"${NOPE}":             `uses ${NOPE}, which is not set`,
		"$NOPE":               `uses ${NOPE}, which is not set`,
		"${EMPTY:?set EMPTY}": `needs ${EMPTY}: set EMPTY`,
		"${NOPE?give NOPE}":   `needs ${NOPE}: give NOPE`,
		"${A:-${NOPE}":        "a ${ without its }",
		"${A":                 "a ${ without its }",
		"${1}":                "is not a variable name",
		"${}":                 "is not a variable name",
		"${A/x/y}":            `"/" after ${A is not an operator`,
		"${NOPE:-${MISSING}}": `uses ${MISSING}`,
	} {
		if _, err := Expand(in, lookup); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Expand(%q) error = %v, want %q", in, err, want)
		}
	}
	missing, err := MissingVars("${X} ${A} $Y ${Z:-d} ${W:?say W}", lookup)
	if err != nil || len(missing) != 3 || missing[0].Name != "X" || missing[1].Name != "Y" || missing[2].Msg != "say W" {
		t.Fatalf("MissingVars = %+v, %v", missing, err)
	}
}

func FuzzExpand(f *testing.F) {
	for _, s := range []string{"${A:-${B}}", "$A$$", "${A?x}", "}{$", "${A:+${B:-c}}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		lookup := func(k string) (string, bool) { return "v", k == "A" }
		out, err := Expand(s, lookup)
		if err == nil && !strings.Contains(s, "$") && out != s {
			t.Fatalf("Expand(%q) = %q: a string without $ must stay as it is", s, out)
		}
	})
}

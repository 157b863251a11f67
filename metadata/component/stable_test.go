package component

import (
	"regexp"
	"slices"
	"testing"
)

// stableForm is the form berth has always accepted, written as a regular
// expression; the hand parser must agree with it on every input.
var stableForm = regexp.MustCompile(`^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$`)

func TestParseStable(t *testing.T) {
	for _, s := range []string{"v0.0.0", "v1.2.3", "v10.20.30", "v18446744073709551615.0.0"} {
		if _, err := ParseStable(s); err != nil {
			t.Errorf("ParseStable(%q): %v", s, err)
		}
	}
	for _, s := range []string{"", "v", "1.2.3", "v1.2", "v1.2.3.4", "v01.2.3", "v1.02.3", "v1.2.03",
		"v1.2.3-rc.1", "v1.2.3+b", "v+1.2.3", "v-1.2.3", "v 1.2.3", "v1..3", "V1.2.3", "v18446744073709551616.0.0"} {
		if v, err := ParseStable(s); err == nil {
			t.Errorf("ParseStable(%q) = %v, want an error", s, v)
		}
	}
	if got := StableTags([]string{"v1.10.0", "v1.9.9", "v2.0.0", "v1.10.0", "v0.1.0-rc.1", "x", "v1.2.10", "v1.2.9"}); !slices.Equal(got,
		[]string{"v2.0.0", "v1.10.0", "v1.9.9", "v1.2.10", "v1.2.9"}) {
		t.Errorf("StableTags order: %v", got)
	}
}

func FuzzParseStable(f *testing.F) {
	for _, s := range []string{"v1.2.3", "v01.2.3", "v1.2.3-rc.1", "v0.0.0", "v99999999999999999999.1.1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseStable(s)
		if (err == nil) != stableForm.MatchString(s) && !(err != nil && len(s) > 20) {
			t.Fatalf("ParseStable(%q) = %v, %v; the vX.Y.Z form says %v", s, v, err, stableForm.MatchString(s))
		}
		if err == nil && v.String() != s {
			t.Fatalf("ParseStable(%q) prints as %q", s, v.String())
		}
	})
}

package metadata

import (
	"regexp"
	"testing"
)

// The hand checks must agree with the expressions they replace.
func FuzzNamesAgreeWithTheirExpressions(f *testing.F) {
	name := regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]*$`)
	env := regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	meta := regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]*$`)
	for _, s := range []string{"", "a", "_", "a.b-c_d", "9x", "-x", "A", "x y", "é", "a\n", "KEY.1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ValidName(s) != name.MatchString(s) {
			t.Fatalf("ValidName(%q) = %v", s, ValidName(s))
		}
		if validKey(s, false) != env.MatchString(s) {
			t.Fatalf("validKey(%q, false) = %v", s, validKey(s, false))
		}
		if validKey(s, true) != meta.MatchString(s) {
			t.Fatalf("validKey(%q, true) = %v", s, validKey(s, true))
		}
	})
}

package metadata

import (
	"regexp"
	"sync"
)

// Names and keys are checked by hand and the other regular expressions are
// compiled on first use: an expression compiled when the program starts is
// paid for by every berth command, most of which never match it.

// ValidName says whether s may name an environment, component, image,
// service or host: ^[a-z0-9][a-z0-9_.-]*$.
func ValidName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case i > 0 && (c == '_' || c == '.' || c == '-'):
		default:
			return false
		}
	}
	return s != ""
}

// validKey says whether s is a variable name, ^[A-Za-z_][A-Za-z0-9_]*$, or
// with dots, a .metadata key, ^[A-Za-z_][A-Za-z0-9_.-]*$.
func validKey(s string, dots bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
		case i > 0 && c >= '0' && c <= '9':
		case i > 0 && dots && (c == '.' || c == '-'):
		default:
			return false
		}
	}
	return s != ""
}

// lazyRegexp is a regular expression compiled when first used.
type lazyRegexp struct {
	re func() *regexp.Regexp
}

func lazy(expr string) lazyRegexp {
	return lazyRegexp{sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })}
}

func (l lazyRegexp) FindStringSubmatch(s string) []string { return l.re().FindStringSubmatch(s) }

package metadata

import (
	"fmt"
	"strings"
)

// Interpolation, with docker compose's meaning:
//
//	$VAR, ${VAR}    VAR's value; unset is an error naming it
//	${VAR:-word}    word when VAR is unset or empty
//	${VAR-word}     word when VAR is unset
//	${VAR:?msg}     an error saying msg when VAR is unset or empty
//	${VAR?msg}      an error saying msg when VAR is unset
//	${VAR:+word}    word when VAR is set and not empty, else empty
//	${VAR+word}     word when VAR is set, else empty
//	$$              a literal $
//
// word may itself hold references (${A:-${B}}). A $ not followed by a name
// or a brace stays as it is ("echo $1" in a shell script).

// VarError is a variable a string needs and does not have.
type VarError struct {
	Name string
	// Msg is the manifest's own message (${VAR:?msg}), if it gave one.
	Msg string
	// Text is the string being expanded.
	Text string
}

func (e *VarError) Error() string {
	if e.Msg != "" {
		return fmt.Sprintf("%q needs ${%s}: %s", e.Text, e.Name, e.Msg)
	}
	return fmt.Sprintf("%q uses ${%s}, which is not set: define it in config/.env", e.Text, e.Name)
}

// Expand replaces the variable references in s through lookup (see the
// table above). The first variable missing is the error.
func Expand(s string, lookup func(string) (string, bool)) (string, error) {
	out, missing, err := interpolate(s, lookup)
	if err != nil {
		return "", err
	}
	if len(missing) > 0 {
		return "", missing[0]
	}
	return out, nil
}

// MissingVars lists every variable s needs and lookup lacks, without
// stopping at the first; a malformed reference is the error.
func MissingVars(s string, lookup func(string) (string, bool)) ([]*VarError, error) {
	_, missing, err := interpolate(s, lookup)
	return missing, err
}

func interpolate(s string, lookup func(string) (string, bool)) (string, []*VarError, error) {
	x := &expander{text: s, lookup: lookup}
	out, _, err := x.expand(s, 0, false)
	if err != nil {
		return "", nil, err
	}
	return out, x.missing, nil
}

type expander struct {
	text    string
	lookup  func(string) (string, bool)
	missing []*VarError
}

func (x *expander) syntax(what string) error {
	return fmt.Errorf("%q: %s: write ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?message}, ${VAR:+alternative} or $$ for a literal $", x.text, what)
}

// expand copies s from i, replacing references, up to the end or, inside a
// brace (inBrace), up to the } that closes it; it returns where it stopped.
func (x *expander) expand(s string, i int, inBrace bool) (string, int, error) {
	var b strings.Builder
	depth := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == '}' && inBrace && depth == 0:
			return b.String(), i, nil
		case c == '}' && inBrace:
			depth--
		case c == '{' && inBrace:
			depth++
		case c == '$' && i+1 < len(s) && s[i+1] == '$':
			b.WriteByte('$')
			i += 2
			continue
		case c == '$' && i+1 < len(s) && s[i+1] == '{':
			v, next, err := x.braced(s, i+2)
			if err != nil {
				return "", 0, err
			}
			b.WriteString(v)
			i = next
			continue
		case c == '$' && i+1 < len(s) && isNameStart(s[i+1]):
			j := i + 1
			for j < len(s) && isNameChar(s[j]) {
				j++
			}
			b.WriteString(x.value(s[i+1 : j]))
			i = j
			continue
		}
		b.WriteByte(c)
		i++
	}
	if inBrace {
		return "", 0, x.syntax("a ${ without its }")
	}
	return b.String(), i, nil
}

// braced expands the reference whose name starts at s[i] (after "${") and
// returns its value and the index after its "}".
func (x *expander) braced(s string, i int) (string, int, error) {
	j := i
	for j < len(s) && isNameChar(s[j]) {
		j++
	}
	name := s[i:j]
	if name == "" || !isNameStart(name[0]) {
		return "", 0, x.syntax(fmt.Sprintf("%q is not a variable name", "${"+s[i:min(len(s), j+1)]))
	}
	if j < len(s) && s[j] == '}' {
		return x.value(name), j + 1, nil
	}
	op := ""
	for _, o := range []string{":-", ":?", ":+", "-", "?", "+"} {
		if strings.HasPrefix(s[j:], o) {
			op = o
			break
		}
	}
	if op == "" {
		if j >= len(s) {
			return "", 0, x.syntax("a ${ without its }")
		}
		return "", 0, x.syntax(fmt.Sprintf("%q after ${%s is not an operator", s[j:j+1], name))
	}
	v, set := x.lookup(name)
	use := set && (v != "" || op[0] != ':') // the colon forms treat empty as unset
	// The word is expanded only when it is used, as a shell does.
	wordUsed := (op[len(op)-1] == '+') == use
	start := j + len(op)
	saved := x.missing
	word, end, err := x.expand(s, start, true)
	if err != nil {
		return "", 0, err
	}
	if !wordUsed {
		x.missing = saved
	}
	switch op[len(op)-1] {
	case '-':
		if use {
			return v, end + 1, nil
		}
		return word, end + 1, nil
	case '+':
		if use {
			return word, end + 1, nil
		}
		return "", end + 1, nil
	}
	if !use { // ? and :?
		x.missing = append(x.missing, &VarError{Name: name, Msg: strings.TrimSpace(word), Text: x.text})
	}
	return v, end + 1, nil
}

func (x *expander) value(name string) string {
	v, ok := x.lookup(name)
	if !ok {
		x.missing = append(x.missing, &VarError{Name: name, Text: x.text})
	}
	return v
}

func isNameStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isNameChar(c byte) bool  { return isNameStart(c) || c >= '0' && c <= '9' }

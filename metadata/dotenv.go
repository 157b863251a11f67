package metadata

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"unicode/utf8"
)

// DotEnv is a parsed config/.env file: its variables in file order.
type DotEnv struct {
	Keys   []string
	Values map[string]string
	// Skipped lists the lines the OQTOPUS CLI does not export and berth
	// skips too (a key that does not start the line, or a blank before
	// '='), each as "path:line: why", for validate to report.
	Skipped []string
}

// Get returns the value of key and whether it is set.
func (d *DotEnv) Get(key string) (string, bool) {
	if d == nil {
		return "", false
	}
	v, ok := d.Values[key]
	return v, ok
}

// Environ returns KEY=VALUE strings in file order.
func (d *DotEnv) Environ() []string {
	if d == nil {
		return nil
	}
	out := make([]string, 0, len(d.Keys))
	for _, k := range d.Keys {
		out = append(out, k+"="+d.Values[k])
	}
	return out
}

// ParseDotEnv parses config/.env with the OQTOPUS CLI's rules: blank and '#'
// lines are skipped; keys match [A-Za-z_][A-Za-z0-9_]*; a quoted value is what
// stands inside its quotes (no escapes); an unquoted value loses a trailing
// " # comment" (a '#' with no blank before it is kept); a trailing CR is
// dropped. A later assignment of a key wins, as in a shell. A line whose key
// does not start at the beginning of the line ("  KEY=value"), or that has a
// blank before '=', is no variable for the CLI and is skipped. path is used in
// error messages only. On errors the variables of the good lines are
// returned too, for commands that can go on with a warning.
func ParseDotEnv(path string, data []byte) (*DotEnv, error) {
	d := &DotEnv{Values: map[string]string{}}
	var errs []error
	text := strings.TrimPrefix(string(data), "\ufeff")
	for i, line := range strings.Split(text, "\n") {
		n := i + 1
		line = strings.TrimSuffix(line, "\r")
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if !utf8.ValidString(line) {
			errs = append(errs, fmt.Errorf("%s:%d: not valid UTF-8", path, n))
			continue
		}
		key, raw, ok := strings.Cut(trimmed, "=")
		if !ok {
			errs = append(errs, fmt.Errorf("%s:%d: expected KEY=value, found %q", path, n, clip(trimmed)))
			continue
		}
		if line[0] == ' ' || line[0] == '\t' || strings.TrimRight(key, " \t") != key {
			d.Skipped = append(d.Skipped, fmt.Sprintf("%s:%d: %q is not a variable (the key must start the line and touch '='), so it is skipped as the OQTOPUS CLI skips it", path, n, clip(trimmed)))
			continue
		}
		if !validKey(key, false) {
			errs = append(errs, fmt.Errorf("%s:%d: invalid variable name %q (use letters, digits and '_', not starting with a digit)", path, n, clip(key)))
			continue
		}
		value, err := parseEnvValue(raw)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: %s: %w", path, n, key, err))
			continue
		}
		if _, dup := d.Values[key]; !dup {
			d.Keys = append(d.Keys, key)
		}
		d.Values[key] = value
	}
	if len(errs) > 0 {
		return d, errors.Join(errs...)
	}
	return d, nil
}

func parseEnvValue(untrimmed string) (string, error) {
	raw := strings.TrimSpace(untrimmed)
	if raw == "" {
		return "", nil
	}
	if raw[0] == '#' && raw != untrimmed && strings.IndexAny(untrimmed[:1], " \t") == 0 {
		return "", nil // KEY= # comment
	}
	if q := raw[0]; q == '"' || q == '\'' {
		end := strings.IndexByte(raw[1:], q)
		if end < 0 {
			return "", fmt.Errorf("unterminated %c quote: close the value with %c", q, q)
		}
		value := raw[1 : 1+end]
		rest := strings.TrimSpace(raw[2+end:])
		if rest != "" && !strings.HasPrefix(rest, "#") {
			return "", fmt.Errorf("unexpected %q after the closing %c quote: quote the whole value", clip(rest), q)
		}
		return value, nil
	}
	for i := 1; i < len(raw); i++ {
		if raw[i] == '#' && (raw[i-1] == ' ' || raw[i-1] == '\t') {
			return strings.TrimRight(raw[:i], " \t"), nil
		}
	}
	return raw, nil
}

// ReadDotEnv reads and parses the .env file at path. A missing file is an
// empty set of variables.
func ReadDotEnv(path string) (*DotEnv, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return &DotEnv{Values: map[string]string{}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return ParseDotEnv(path, data)
}

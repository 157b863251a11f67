package metadata

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"unicode/utf8"
)

// MetadataFile is the name of the file that marks an environment's root.
const MetadataFile = ".metadata"

// Keys of .metadata that berth reads. The file is OQTOPUS-compatible, so these
// names are a contract.
const (
	KeyTemplate        = "template"
	KeyInstallRoot     = "install_root"
	KeyEnvironmentName = "environment_name"
	KeyEnvironmentRoot = "environment_root"
	KeyCreatedAt       = "created_at"
)

// legacyKeys maps keys written by early OQTOPUS CLI releases to their names now.
var legacyKeys = map[string]string{
	"env_root": KeyEnvironmentRoot,
	"env_name": KeyEnvironmentName,
}

// Metadata is the parsed .metadata file. It keeps every line, including keys
// berth does not know, comments, blank lines and lines it could not read, in
// their order, so that a rewrite changes only what berth meant to change.
type Metadata struct {
	lines []metaLine
	// Migrated lists the legacy keys (env_root, env_name) still in the file;
	// reads fall back to them, and MigrateLegacyKeys renames them.
	Migrated []string
	// Warnings are problems berth reads past, such as a key set twice
	// (the first value counts, as for the OQTOPUS CLI).
	Warnings []string
}

type metaLine struct {
	key, value string
	raw        string // the line as read, for comments, blank and bad lines
	dup        bool   // a later line of a key set before: kept, never read
}

// ParseMetadata parses .metadata content. path is used in error messages only.
// Every malformed line is reported, each with its line number; the returned
// Metadata then still holds the good lines (and keeps the bad ones as they
// are), for commands that can go on with a warning. A key set twice keeps its
// first value, with a warning.
func ParseMetadata(path string, data []byte) (*Metadata, error) {
	m := &Metadata{}
	var errs []error
	seen := map[string]int{}
	text := string(data)
	if strings.HasPrefix(text, "\ufeff") {
		text = text[len("\ufeff"):]
	}
	lines := strings.Split(text, "\n")
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	for i, line := range lines {
		n := i + 1
		line = strings.TrimSuffix(line, "\r")
		if !utf8.ValidString(line) {
			errs = append(errs, fmt.Errorf("%s:%d: not valid UTF-8", path, n))
			m.lines = append(m.lines, metaLine{raw: line})
			continue
		}
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			m.lines = append(m.lines, metaLine{raw: line})
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		key = strings.TrimSpace(key)
		if !ok {
			errs = append(errs, fmt.Errorf("%s:%d: expected key=value, found %q", path, n, clip(line)))
			m.lines = append(m.lines, metaLine{raw: line})
			continue
		}
		if !validKey(key, true) {
			errs = append(errs, fmt.Errorf("%s:%d: invalid key %q (keys are letters, digits, '_', '.' and '-')", path, n, clip(key)))
			m.lines = append(m.lines, metaLine{raw: line})
			continue
		}
		ml := metaLine{key: key, value: strings.TrimSpace(value), raw: line}
		if first, dup := seen[key]; dup {
			m.Warnings = append(m.Warnings, fmt.Sprintf("%s:%d: key %q is already set on line %d; berth uses the first value, as the OQTOPUS CLI does: delete one of the lines", path, n, key, first))
			ml.dup = true
		} else {
			seen[key] = n
		}
		m.lines = append(m.lines, ml)
	}
	for _, old := range legacyOrder {
		if _, has := seen[old]; has {
			m.Migrated = append(m.Migrated, old)
		}
	}
	if len(errs) > 0 {
		return m, errors.Join(errs...)
	}
	return m, nil
}

// legacyOrder is the order in which the OQTOPUS CLI renames legacy keys.
var legacyOrder = []string{"env_root", "env_name"}

func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}

// Get returns the value of key and whether it is set: the first line that
// sets it, else, for environment_root and environment_name, the legacy key
// (env_root, env_name) a file not yet migrated holds.
func (m *Metadata) Get(key string) (string, bool) {
	if v, ok := m.get(key); ok {
		return v, true
	}
	for old, now := range legacyKeys {
		if now == key {
			return m.get(old)
		}
	}
	return "", false
}

func (m *Metadata) get(key string) (string, bool) {
	for _, l := range m.lines {
		if l.key == key && !l.dup {
			return l.value, true
		}
	}
	return "", false
}

// Set sets key to value, in place if the key exists (later lines of the same
// key are removed), else at the end.
func (m *Metadata) Set(key, value string) {
	set := false
	out := m.lines[:0]
	for _, l := range m.lines {
		if l.key == key {
			if set {
				continue
			}
			l = metaLine{key: key, value: value}
			set = true
		}
		out = append(out, l)
	}
	m.lines = out
	if !set {
		m.lines = append(m.lines, metaLine{key: key, value: value})
	}
}

// Delete removes every line of key; it reports whether the key was set.
func (m *Metadata) Delete(key string) bool {
	found := false
	out := m.lines[:0]
	for _, l := range m.lines {
		if l.key == key {
			found = true
			continue
		}
		out = append(out, l)
	}
	m.lines = out
	return found
}

// MigrateLegacy renames the legacy keys as the OQTOPUS CLI does: env_root
// then env_name; each sets its new key to the old key's (first) value,
// overwriting any value the new key had, then deletes the old key. It
// reports whether anything changed.
func (m *Metadata) MigrateLegacy() bool {
	changed := false
	for _, old := range legacyOrder {
		v, ok := m.get(old)
		if !ok {
			continue
		}
		m.Set(legacyKeys[old], v)
		m.Delete(old)
		changed = true
	}
	m.Migrated = nil
	return changed
}

// Pairs returns the key=value pairs in file order.
func (m *Metadata) Pairs() [][2]string {
	var out [][2]string
	for _, l := range m.lines {
		if l.key != "" && !l.dup {
			out = append(out, [2]string{l.key, l.value})
		}
	}
	return out
}

// Bytes renders the file: one line each, LF line ends.
func (m *Metadata) Bytes() []byte {
	var b bytes.Buffer
	for _, l := range m.lines {
		if l.key == "" || l.dup {
			b.WriteString(l.raw)
		} else {
			b.WriteString(l.key + "=" + l.value)
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// ReadMetadata reads and parses the .metadata file at path.
func ReadMetadata(path string) (*Metadata, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return ParseMetadata(path, data)
}

// WriteMetadata replaces the file at path with m, atomically. A file the user
// made read-only is left alone: berth says so instead of replacing it.
func WriteMetadata(path string, m *Metadata) error {
	perm := os.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil {
		perm = fi.Mode().Perm()
		if perm&0o200 == 0 {
			return fmt.Errorf("%s is read-only: make it writable (chmod u+w %s) to let berth update it", path, path)
		}
	}
	return WriteFileAtomic(path, m.Bytes(), perm)
}

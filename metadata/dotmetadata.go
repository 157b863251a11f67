package metadata

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
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

var metadataKeyRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]*$`)

// Metadata is the parsed .metadata file. It keeps every line, including keys
// berth does not know, comments and blank lines, in their order, so that a
// rewrite changes only what berth meant to change.
type Metadata struct {
	lines []metaLine
	// Migrated lists legacy keys renamed on load; they reach the disk on the
	// next Save.
	Migrated []string
}

type metaLine struct {
	key, value string
	raw        string // for comments and blank lines
}

// ParseMetadata parses .metadata content. path is used in error messages only.
// Every malformed line is reported, each with its line number.
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
			continue
		}
		if !metadataKeyRE.MatchString(key) {
			errs = append(errs, fmt.Errorf("%s:%d: invalid key %q (keys are letters, digits, '_', '.' and '-')", path, n, clip(key)))
			continue
		}
		if first, dup := seen[key]; dup {
			errs = append(errs, fmt.Errorf("%s:%d: key %q already set on line %d", path, n, key, first))
			continue
		}
		seen[key] = n
		m.lines = append(m.lines, metaLine{key: key, value: strings.TrimSpace(value)})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for old, now := range legacyKeys {
		if _, has := m.Get(now); has {
			continue
		}
		for i := range m.lines {
			if m.lines[i].key == old {
				m.lines[i].key = now
				m.Migrated = append(m.Migrated, old)
			}
		}
	}
	return m, nil
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}

// Get returns the value of key and whether it is set.
func (m *Metadata) Get(key string) (string, bool) {
	for _, l := range m.lines {
		if l.key == key {
			return l.value, true
		}
	}
	return "", false
}

// Set sets key to value, in place if the key exists, else at the end.
func (m *Metadata) Set(key, value string) {
	for i := range m.lines {
		if m.lines[i].key == key {
			m.lines[i].value = value
			return
		}
	}
	m.lines = append(m.lines, metaLine{key: key, value: value})
}

// Delete removes key; it reports whether the key was set.
func (m *Metadata) Delete(key string) bool {
	for i := range m.lines {
		if m.lines[i].key == key {
			m.lines = append(m.lines[:i], m.lines[i+1:]...)
			return true
		}
	}
	return false
}

// Pairs returns the key=value pairs in file order.
func (m *Metadata) Pairs() [][2]string {
	var out [][2]string
	for _, l := range m.lines {
		if l.key != "" {
			out = append(out, [2]string{l.key, l.value})
		}
	}
	return out
}

// Bytes renders the file: one line each, LF line ends.
func (m *Metadata) Bytes() []byte {
	var b bytes.Buffer
	for _, l := range m.lines {
		if l.key == "" {
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

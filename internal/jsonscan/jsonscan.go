// Package jsonscan reads the plain parts of JSON that berth writes itself
// (PID files, the build's sum cache) without reflection. A value it cannot
// read plainly is left to encoding/json by the caller.
package jsonscan

import (
	"strconv"
	"unicode/utf8"
)

// String reads a JSON string with no escapes or control characters, in
// valid UTF-8, at the head of b: its contents and what follows it. ok is
// false for anything else (the caller falls back to encoding/json).
func String(b []byte) (s, rest []byte, ok bool) {
	if len(b) == 0 || b[0] != '"' {
		return nil, nil, false
	}
	for i := 1; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return b[1:i], b[i+1:], utf8.Valid(b[1:i])
		case c == '\\' || c < 0x20:
			return nil, nil, false
		}
	}
	return nil, nil, false
}

// Uint reads a non-negative decimal integer without leading zeros at the
// head of b: its value and what follows it.
func Uint(b []byte) (n uint64, rest []byte, ok bool) {
	i := 0
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	if i == 0 || i > 19 || (b[0] == '0' && i > 1) {
		return 0, nil, false
	}
	n, err := strconv.ParseUint(string(b[:i]), 10, 64)
	return n, b[i:], err == nil
}

// Object reads b as one JSON object written compactly (no space between
// tokens), calling field with each key, in order, and what follows its
// colon; field returns what follows the value it read, or ok=false to
// stop. ok is false when field stops or b is not such an object.
func Object(b []byte, field func(key, value []byte) (rest []byte, ok bool)) bool {
	if len(b) < 2 || b[0] != '{' || b[len(b)-1] != '}' {
		return false
	}
	b = b[1 : len(b)-1]
	for len(b) > 0 {
		key, rest, ok := String(b)
		if !ok || len(rest) == 0 || rest[0] != ':' {
			return false
		}
		if b, ok = field(key, rest[1:]); !ok {
			return false
		}
		if len(b) > 0 {
			if b[0] != ',' || len(b) == 1 {
				return false
			}
			b = b[1:]
		}
	}
	return true
}

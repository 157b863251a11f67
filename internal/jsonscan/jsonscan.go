// Package jsonscan reads and writes the plain parts of JSON that berth
// writes itself (PID files, the build's sum cache, the supervisor's
// messages) without reflection. A value it cannot read plainly is left to
// encoding/json by the caller; what it writes is what encoding/json writes.
package jsonscan

import (
	"encoding/json"
	"math"
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

// Text reads any JSON string at the head of b: one String reads is taken
// as it is, one with escapes (or bytes that are not UTF-8) is read by
// encoding/json, token by token, so it means what it means there.
func Text(b []byte) (s string, rest []byte, ok bool) {
	if v, rest, ok := String(b); ok {
		return string(v), rest, true
	}
	if len(b) == 0 || b[0] != '"' {
		return "", nil, false
	}
	for i := 1; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			s, ok := unquote(b[:i+1])
			return s, b[i+1:], ok
		}
	}
	return "", nil, false
}

// unquote is encoding/json's reading of the string token b (apart from
// Text, whose result would otherwise always be on the heap).
func unquote(b []byte) (string, bool) {
	var s string
	if json.Unmarshal(b, &s) != nil {
		return "", false
	}
	return s, true
}

// Strings reads a compact JSON array of strings, or null (a nil slice),
// at the head of b; [] is an empty slice that is not nil, as
// encoding/json makes it.
func Strings(b []byte) (v []string, rest []byte, ok bool) {
	if rest, ok := Null(b); ok {
		return nil, rest, true
	}
	if len(b) < 2 || b[0] != '[' {
		return nil, nil, false
	}
	v, b = []string{}, b[1:]
	if b[0] == ']' {
		return v, b[1:], true
	}
	for {
		s, r, ok := Text(b)
		if !ok || len(r) == 0 {
			return nil, nil, false
		}
		v = append(v, s)
		switch r[0] {
		case ']':
			return v, r[1:], true
		case ',':
			b = r[1:]
		default:
			return nil, nil, false
		}
	}
}

// Null reads the literal null at the head of b.
func Null(b []byte) (rest []byte, ok bool) {
	if len(b) >= 4 && string(b[:4]) == "null" {
		return b[4:], true
	}
	return nil, false
}

// Bool reads true or false at the head of b.
func Bool(b []byte) (v bool, rest []byte, ok bool) {
	switch {
	case len(b) >= 4 && string(b[:4]) == "true":
		return true, b[4:], true
	case len(b) >= 5 && string(b[:5]) == "false":
		return false, b[5:], true
	}
	return false, nil, false
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

// Int reads a decimal integer, negative or not, that fits an int64
// (without its least value) at the head of b. A fraction or an exponent
// after it is no integer: the caller's next read fails on it.
func Int(b []byte) (n int64, rest []byte, ok bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	u, rest, ok := Uint(b)
	if !ok || u > math.MaxInt64 {
		return 0, nil, false
	}
	if neg {
		return -int64(u), rest, true
	}
	return int64(u), rest, true
}

// Object reads b as one JSON object written compactly (no space between
// tokens), calling field with each key, in order, and what follows its
// colon; field returns what follows the value it read, or ok=false to
// stop. ok is false when field stops or b is not such an object.
func Object(b []byte, field func(key, value []byte) (rest []byte, ok bool)) bool {
	rest, ok := ObjectAt(b, field)
	return ok && len(rest) == 0
}

// ObjectAt reads an object as Object does at the head of b, and returns
// what follows it.
func ObjectAt(b []byte, field func(key, value []byte) (rest []byte, ok bool)) (rest []byte, ok bool) {
	if len(b) < 2 || b[0] != '{' {
		return nil, false
	}
	b = b[1:]
	if b[0] == '}' {
		return b[1:], true
	}
	for {
		key, rest, ok := String(b)
		if !ok || len(rest) == 0 || rest[0] != ':' {
			return nil, false
		}
		if b, ok = field(key, rest[1:]); !ok || len(b) < 1 {
			return nil, false
		}
		switch b[0] {
		case '}':
			return b[1:], true
		case ',':
			b = b[1:]
		default:
			return nil, false
		}
	}
}

// AppendString appends s quoted as encoding/json quotes it (with its
// HTML escapes): plain ASCII as it is, anything else by encoding/json.
func AppendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// AppendStrings appends v as encoding/json writes a []string (nil is null).
func AppendStrings(b []byte, v []string) []byte {
	if v == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range v {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendString(b, s)
	}
	return append(b, ']')
}

package images

import "github.com/berthdev/berth/internal/jsonscan"

// decodeSums reads a sum cache as berth writes it (compact JSON, every key
// once, names and sums without escapes) without encoding/json's reflection,
// which was half of an up-to-date build of a 1,000-file context (about 25M
// instructions). Anything else answers ok=false and goes to encoding/json:
// FuzzDecodeSums holds the two to the same answer.
func decodeSums(b []byte) (map[string]sumEntry, bool) {
	if len(b) < 2 || b[0] != '{' || b[len(b)-1] != '}' {
		return nil, false
	}
	out := map[string]sumEntry{}
	b = b[1 : len(b)-1]
	for len(b) > 0 {
		name, rest, ok := jsonscan.String(b)
		if !ok || len(rest) == 0 || rest[0] != ':' {
			return nil, false
		}
		if _, dup := out[string(name)]; dup {
			return nil, false
		}
		var e sumEntry
		if b, ok = decodeSumEntry(rest[1:], &e); !ok {
			return nil, false
		}
		out[string(name)] = e
		if len(b) > 0 {
			if b[0] != ',' || len(b) == 1 {
				return nil, false
			}
			b = b[1:]
		}
	}
	return out, true
}

// sumKeys is the order json.Marshal writes a sumEntry in; only that order
// is read here.
var sumKeys = [...]string{"size", "mode", "mtime", "ctime", "ino", "dev", "at", "sum"}

func decodeSumEntry(b []byte, e *sumEntry) ([]byte, bool) {
	if len(b) == 0 || b[0] != '{' {
		return nil, false
	}
	b = b[1:]
	var ints [7]uint64
	for i, key := range sumKeys {
		k, rest, ok := jsonscan.String(b)
		if !ok || string(k) != key || len(rest) == 0 || rest[0] != ':' {
			return nil, false
		}
		b = rest[1:]
		if key == "sum" {
			s, rest, ok := jsonscan.String(b)
			if !ok {
				return nil, false
			}
			e.Sum, b = string(s), rest
		} else {
			j := 0
			for j < len(b) && b[j] >= '0' && b[j] <= '9' {
				j++
			}
			if j == 0 || j > 19 || (b[0] == '0' && j > 1) {
				return nil, false
			}
			// At most 19 digits: below 2^64, so no overflow to check.
			var n uint64
			for _, c := range b[:j] {
				n = n*10 + uint64(c-'0')
			}
			if (key != "ino" && key != "dev" && n > 1<<62) || (key == "mode" && n > 1<<32-1) {
				return nil, false
			}
			ints[i], b = n, b[j:]
		}
		sep := byte(',')
		if i == len(sumKeys)-1 {
			sep = '}'
		}
		if len(b) == 0 || b[0] != sep {
			return nil, false
		}
		b = b[1:]
	}
	e.Size, e.Mode, e.Mtime, e.Ctime = int64(ints[0]), uint32(ints[1]), int64(ints[2]), int64(ints[3])
	e.Ino, e.Dev, e.At = ints[4], ints[5], int64(ints[6])
	return b, true
}

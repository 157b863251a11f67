package process

import (
	"github.com/berthdev/berth/internal/jsonscan"
	"github.com/berthdev/berth/runtime"
)

// decodeHandle reads a PID file as berth writes it (compact JSON, known
// keys once each, strings without escapes) without encoding/json's
// reflection, which was most of the cost of reading 100 PID files. It
// answers ok=false for anything else, and the caller then asks
// encoding/json, so what a PID file means never depends on this shortcut
// (FuzzDecodeHandle holds the two to the same answer).
func decodeHandle(b []byte) (h runtime.Handle, ok bool) {
	var seen uint16
	ok = jsonscan.Object(b, func(key, value []byte) ([]byte, bool) {
		bit, ok := handleKeys[string(key)]
		if !ok || seen&bit != 0 {
			return nil, false
		}
		seen |= bit
		return handleValue(&h, bit, value)
	})
	return h, ok
}

var handleKeys = map[string]uint16{
	"service": 1 << 0, "runner": 1 << 1, "pid": 1 << 2, "pgid": 1 << 3,
	"start_time": 1 << 4, "started_at": 1 << 5, "id": 1 << 6, "host": 1 << 7,
	"env": 1 << 8, "token": 1 << 9, "log_from": 1 << 10,
}

// handleValue decodes the value of the key bit names at the head of b.
func handleValue(h *runtime.Handle, bit uint16, b []byte) ([]byte, bool) {
	switch bit {
	case 1 << 2, 1 << 3, 1 << 4, 1 << 10:
		n, rest, ok := jsonscan.Uint(b)
		if !ok {
			return nil, false
		}
		switch {
		case bit == 1<<4:
			h.StartTime = n
		case n > 1<<62:
			return nil, false
		case bit == 1<<2:
			h.PID = int(n)
		case bit == 1<<3:
			h.PGID = int(n)
		default:
			h.LogFrom = int64(n)
		}
		return rest, true
	}
	s, rest, ok := jsonscan.String(b)
	if !ok {
		return nil, false
	}
	switch bit {
	case 1 << 0:
		h.Service = string(s)
	case 1 << 1:
		h.Runner = string(s)
	case 1 << 5:
		// The quotes are part of what Time.UnmarshalJSON reads.
		if h.StartedAt.UnmarshalJSON(b[:len(s)+2]) != nil {
			return nil, false
		}
	case 1 << 6:
		h.ID = string(s)
	case 1 << 7:
		h.Host = string(s)
	case 1 << 8:
		h.Env = string(s)
	case 1 << 9:
		h.Token = string(s)
	}
	return rest, true
}

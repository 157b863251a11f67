package process

import (
	"encoding/json"
	"strconv"

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
	h, rest, ok := DecodeHandleAt(b)
	return h, ok && len(rest) == 0
}

// DecodeHandleAt reads a handle as decodeHandle does at the head of b (a
// supervisor's answer carries one) and returns what follows it.
func DecodeHandleAt(b []byte) (h runtime.Handle, rest []byte, ok bool) {
	var seen uint16
	rest, ok = jsonscan.ObjectAt(b, func(key, value []byte) ([]byte, bool) {
		bit, ok := handleKeys[string(key)]
		if !ok || seen&bit != 0 {
			return nil, false
		}
		seen |= bit
		return handleValue(&h, bit, value)
	})
	return h, rest, ok
}

// AppendHandle appends h as encoding/json writes it (FuzzAppendHandle
// holds the two to the same bytes), without its reflection: a PID file is
// written twice per launch, and a supervisor's answer to a start carries
// one. ok is false for a start time encoding/json refuses to write.
func AppendHandle(b []byte, h *runtime.Handle) (_ []byte, ok bool) {
	b = append(b, `{"service":`...)
	b = jsonscan.AppendString(b, h.Service)
	b = append(b, `,"runner":`...)
	b = jsonscan.AppendString(b, h.Runner)
	b = appendInt(b, `,"pid":`, int64(h.PID))
	b = appendInt(b, `,"pgid":`, int64(h.PGID))
	if h.StartTime != 0 {
		b = strconv.AppendUint(append(b, `,"start_time":`...), h.StartTime, 10)
	}
	if !h.StartedAt.IsZero() {
		// Time.MarshalJSON is AppendText quoted.
		t, err := h.StartedAt.AppendText(append(b, `,"started_at":"`...))
		if err != nil {
			return b, false
		}
		b = append(t, '"')
	}
	for _, f := range [...]struct{ key, v string }{{`,"id":`, h.ID}, {`,"host":`, h.Host}, {`,"env":`, h.Env}, {`,"token":`, h.Token}} {
		if f.v != "" {
			b = jsonscan.AppendString(append(b, f.key...), f.v)
		}
	}
	return append(appendInt(b, `,"log_from":`, h.LogFrom), '}'), true
}

// appendInt appends key and n, unless n is 0 (omitempty).
func appendInt(b []byte, key string, n int64) []byte {
	if n == 0 {
		return b
	}
	return strconv.AppendInt(append(b, key...), n, 10)
}

// marshalHandle is json.Marshal(h), through AppendHandle where it can.
func marshalHandle(h runtime.Handle) ([]byte, error) {
	if b, ok := AppendHandle(make([]byte, 0, 256), &h); ok {
		return b, nil
	}
	return json.Marshal(h)
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

package supervisor

import (
	"encoding/json"
	"math"
	"strconv"
	"time"

	"github.com/berthdev/berth/internal/jsonscan"
	"github.com/berthdev/berth/runtime"
	"github.com/berthdev/berth/runtime/process"
)

// A start of 100 services is 200 messages each way (its starts and
// settles, their answers), and encoding/json's reflection, with the stack
// its goroutines grew for it, was a tenth of the supervisor's CPU in it
// and as much of the command's. The messages of a start, a wait, a settle
// and their answers are written here as encoding/json writes them (the
// same bytes: FuzzEncodeRequest, FuzzEncodeResponse) and read back where
// they are as berth writes them (compact, known keys once each); anything
// else is encoding/json's, which decides what a message means
// (FuzzDecodeRequest, FuzzDecodeResponse).

// marshalRequest is json.Marshal(req).
func marshalRequest(req *Request) ([]byte, error) {
	if req.Stop != nil || len(req.Batch) > 0 {
		return json.Marshal(*req) // a copy: req itself stays off the heap
	}
	b := make([]byte, 0, 512)
	b = appendHead(b, req.Protocol, req.Version)
	b = jsonscan.AppendString(append(b, `,"op":`...), req.Op)
	if req.ID != 0 {
		b = strconv.AppendUint(append(b, `,"id":`...), req.ID, 10)
	}
	b = appendText(b, `,"service":`, req.Service)
	if req.Spec != nil {
		b = appendSpec(append(b, `,"spec":`...), req.Spec)
	}
	b = appendInt(b, `,"pid":`, int64(req.PID))
	if req.OK {
		b = append(b, `,"ok":true`...)
	}
	if len(req.EnvBase) > 0 {
		b = jsonscan.AppendStrings(append(b, `,"env_base":`...), req.EnvBase)
	}
	if req.Stopping {
		b = append(b, `,"stopping":true`...)
	}
	return append(b, '}'), nil
}

func appendHead(b []byte, protocol int, version string) []byte {
	b = strconv.AppendInt(append(b, `{"protocol":`...), int64(protocol), 10)
	return jsonscan.AppendString(append(b, `,"version":`...), version)
}

// appendText appends key and s, unless s is empty (omitempty).
func appendText(b []byte, key, s string) []byte {
	if s == "" {
		return b
	}
	return jsonscan.AppendString(append(b, key...), s)
}

// appendInt appends key and n, unless n is 0 (omitempty).
func appendInt(b []byte, key string, n int64) []byte {
	if n == 0 {
		return b
	}
	return strconv.AppendInt(append(b, key...), n, 10)
}

func appendSpec(b []byte, s *Spec) []byte {
	b = jsonscan.AppendString(append(b, `{"name":`...), s.Name)
	b = jsonscan.AppendString(append(b, `,"runner":`...), s.Runner)
	b = jsonscan.AppendStrings(append(b, `,"argv":`...), s.Argv)
	b = jsonscan.AppendStrings(append(b, `,"env":`...), s.Env)
	b = appendInt(b, `,"env_from":`, int64(s.EnvFrom))
	b = jsonscan.AppendString(append(b, `,"dir":`...), s.Dir)
	b = strconv.AppendInt(append(b, `,"stop_signal":`...), int64(s.StopSignal), 10)
	b = strconv.AppendInt(append(b, `,"stop_grace":`...), int64(s.StopGrace), 10)
	l := &s.Log
	b = jsonscan.AppendString(append(b, `,"log":{"To":`...), l.To)
	b = jsonscan.AppendString(append(b, `,"Path":`...), l.Path)
	b = strconv.AppendInt(append(b, `,"MaxSize":`...), l.MaxSize, 10)
	b = strconv.AppendInt(append(b, `,"MaxFiles":`...), int64(l.MaxFiles), 10)
	b = jsonscan.AppendString(append(b, `,"AppLog":`...), l.AppLog)
	b = jsonscan.AppendString(append(b, `},"state_dir":`...), s.StateDir)
	b = jsonscan.AppendString(append(b, `,"root":`...), s.Root)
	b = jsonscan.AppendString(append(b, `,"environment":`...), s.Environment)
	return append(b, '}')
}

// marshalResponse is json.Marshal(r).
func marshalResponse(r *Response) ([]byte, error) {
	if len(r.Watched) > 0 || r.Timeout != nil {
		return json.Marshal(*r) // a copy: r itself stays off the heap
	}
	b := make([]byte, 0, 320)
	b = appendHead(b, r.Protocol, r.Version)
	if r.ID != 0 {
		b = strconv.AppendUint(append(b, `,"id":`...), r.ID, 10)
	}
	b = appendInt(b, `,"pid":`, int64(r.PID))
	b = appendText(b, `,"error":`, r.Error)
	b = appendText(b, `,"code":`, r.Code)
	ok := true
	if r.Handle != nil {
		b, ok = process.AppendHandle(append(b, `,"handle":`...), r.Handle)
	}
	if r.Exit != nil && ok {
		b, ok = appendExit(append(b, `,"exit":`...), r.Exit)
	}
	if !ok {
		return json.Marshal(*r)
	}
	b = appendText(b, `,"live":`, r.Live)
	return append(b, '}'), nil
}

// appendExit appends x as encoding/json writes it; ok is false where that
// fails (its time).
func appendExit(b []byte, x *ExitInfo) (_ []byte, ok bool) {
	b = strconv.AppendInt(append(b, `{"code":`...), int64(x.Code), 10)
	b = appendText(b, `,"signal":`, x.Signal)
	if x.Unknown {
		b = append(b, `,"unknown":true`...)
	}
	b, ok = appendTime(append(b, `,"at":`...), x.At)
	return append(b, '}'), ok
}

// appendTime appends t as Time.MarshalJSON writes it; ok is false where
// that fails.
func appendTime(b []byte, t time.Time) (_ []byte, ok bool) {
	b, err := t.AppendText(append(b, '"'))
	return append(b, '"'), err == nil
}

// decodeRequest reads a request as berth writes it; ok is false for
// anything else, which encoding/json reads.
func decodeRequest(b []byte) (req Request, ok bool) {
	var seen uint16
	ok = jsonscan.Object(trimLine(b), func(key, v []byte) ([]byte, bool) {
		bit, known := requestKeys[string(key)]
		if !known || seen&bit != 0 {
			return nil, false
		}
		seen |= bit
		switch string(key) {
		case "protocol":
			return intTo(v, &req.Protocol)
		case "pid":
			return intTo(v, &req.PID)
		case "id":
			return uintTo(v, &req.ID)
		case "version":
			return textTo(v, &req.Version)
		case "op":
			return textTo(v, &req.Op)
		case "service":
			return textTo(v, &req.Service)
		case "ok":
			return boolTo(v, &req.OK)
		case "stopping":
			return boolTo(v, &req.Stopping)
		case "env_base":
			return textsTo(v, &req.EnvBase)
		}
		req.Spec = new(Spec)
		return decodeSpec(v, req.Spec)
	})
	return req, ok
}

var requestKeys = map[string]uint16{"protocol": 1 << 0, "version": 1 << 1, "op": 1 << 2, "id": 1 << 3,
	"service": 1 << 4, "spec": 1 << 5, "pid": 1 << 6, "ok": 1 << 7, "env_base": 1 << 8, "stopping": 1 << 9}

// decodeSpec reads a Spec at the head of v.
func decodeSpec(v []byte, s *Spec) ([]byte, bool) {
	var seen uint16
	return jsonscan.ObjectAt(v, func(key, v []byte) ([]byte, bool) {
		bit, known := specKeys[string(key)]
		if !known || seen&bit != 0 {
			return nil, false
		}
		seen |= bit
		switch string(key) {
		case "name":
			return textTo(v, &s.Name)
		case "runner":
			return textTo(v, &s.Runner)
		case "argv":
			return textsTo(v, &s.Argv)
		case "env":
			return textsTo(v, &s.Env)
		case "env_from":
			return intTo(v, &s.EnvFrom)
		case "dir":
			return textTo(v, &s.Dir)
		case "stop_signal":
			return intTo(v, &s.StopSignal)
		case "stop_grace":
			return int64To(v, (*int64)(&s.StopGrace))
		case "state_dir":
			return textTo(v, &s.StateDir)
		case "root":
			return textTo(v, &s.Root)
		case "environment":
			return textTo(v, &s.Environment)
		}
		return decodeLogSpec(v, &s.Log)
	})
}

var specKeys = map[string]uint16{"name": 1 << 0, "runner": 1 << 1, "argv": 1 << 2, "env": 1 << 3,
	"env_from": 1 << 4, "dir": 1 << 5, "stop_signal": 1 << 6, "stop_grace": 1 << 7, "log": 1 << 8,
	"state_dir": 1 << 9, "root": 1 << 10, "environment": 1 << 11}

func decodeLogSpec(v []byte, l *runtime.LogSpec) ([]byte, bool) {
	var seen uint8
	return jsonscan.ObjectAt(v, func(key, v []byte) ([]byte, bool) {
		var bit uint8
		var rest []byte
		var ok bool
		switch string(key) {
		case "To":
			bit = 1 << 0
			rest, ok = textTo(v, &l.To)
		case "Path":
			bit = 1 << 1
			rest, ok = textTo(v, &l.Path)
		case "MaxSize":
			bit = 1 << 2
			rest, ok = int64To(v, &l.MaxSize)
		case "MaxFiles":
			bit = 1 << 3
			rest, ok = intTo(v, &l.MaxFiles)
		case "AppLog":
			bit = 1 << 4
			rest, ok = textTo(v, &l.AppLog)
		}
		if bit == 0 || seen&bit != 0 {
			return nil, false
		}
		seen |= bit
		return rest, ok
	})
}

// decodeResponse reads an answer as the supervisor writes it; ok is false
// for anything else, which encoding/json reads.
func decodeResponse(b []byte) (r Response, ok bool) {
	var seen uint16
	ok = jsonscan.Object(trimLine(b), func(key, v []byte) ([]byte, bool) {
		bit, known := responseKeys[string(key)]
		if !known || seen&bit != 0 {
			return nil, false
		}
		seen |= bit
		switch string(key) {
		case "protocol":
			return intTo(v, &r.Protocol)
		case "pid":
			return intTo(v, &r.PID)
		case "id":
			return uintTo(v, &r.ID)
		case "version":
			return textTo(v, &r.Version)
		case "error":
			return textTo(v, &r.Error)
		case "code":
			return textTo(v, &r.Code)
		case "live":
			return textTo(v, &r.Live)
		case "handle":
			h, rest, ok := process.DecodeHandleAt(v)
			r.Handle = &h
			return rest, ok
		}
		r.Exit = new(ExitInfo)
		return decodeExit(v, r.Exit)
	})
	return r, ok
}

var responseKeys = map[string]uint16{"protocol": 1 << 0, "version": 1 << 1, "id": 1 << 2, "pid": 1 << 3,
	"error": 1 << 4, "code": 1 << 5, "handle": 1 << 6, "exit": 1 << 7, "live": 1 << 8}

func decodeExit(v []byte, x *ExitInfo) ([]byte, bool) {
	var seen uint8
	return jsonscan.ObjectAt(v, func(key, v []byte) ([]byte, bool) {
		var bit uint8
		var rest []byte
		var ok bool
		switch string(key) {
		case "code":
			bit = 1 << 0
			rest, ok = intTo(v, &x.Code)
		case "signal":
			bit = 1 << 1
			rest, ok = textTo(v, &x.Signal)
		case "unknown":
			bit = 1 << 2
			rest, ok = boolTo(v, &x.Unknown)
		case "at":
			bit = 1 << 3
			// The quotes are part of what Time.UnmarshalJSON reads.
			var s []byte
			if s, rest, ok = jsonscan.String(v); ok {
				ok = x.At.UnmarshalJSON(v[:len(s)+2]) == nil
			}
		}
		if bit == 0 || seen&bit != 0 {
			return nil, false
		}
		seen |= bit
		return rest, ok
	})
}

// trimLine is b without its line's end.
func trimLine(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

func intTo(v []byte, p *int) ([]byte, bool) {
	n, rest, ok := jsonscan.Int(v)
	*p = int(n)
	return rest, ok && n >= math.MinInt && n <= math.MaxInt
}

func int64To(v []byte, p *int64) ([]byte, bool) {
	n, rest, ok := jsonscan.Int(v)
	*p = n
	return rest, ok
}

func uintTo(v []byte, p *uint64) ([]byte, bool) {
	n, rest, ok := jsonscan.Uint(v)
	*p = n
	return rest, ok
}

func textTo(v []byte, p *string) ([]byte, bool) {
	s, rest, ok := jsonscan.Text(v)
	*p = s
	return rest, ok
}

func textsTo(v []byte, p *[]string) ([]byte, bool) {
	s, rest, ok := jsonscan.Strings(v)
	*p = s
	return rest, ok
}

func boolTo(v []byte, p *bool) ([]byte, bool) {
	t, rest, ok := jsonscan.Bool(v)
	*p = t
	return rest, ok
}

// marshal is json.Marshal(v), by hand for the messages above.
func marshal(v any) ([]byte, error) {
	switch m := v.(type) {
	case Request:
		return marshalRequest(&m)
	case Response:
		return marshalResponse(&m)
	}
	return json.Marshal(v)
}

// unmarshal is json.Unmarshal(line, v) into a zero v, by hand for the
// messages above where they are as berth writes them.
func unmarshal(line []byte, v any) error {
	switch p := v.(type) {
	case *Request:
		if r, ok := decodeRequest(line); ok {
			*p = r
			return nil
		}
	case *Response:
		if r, ok := decodeResponse(line); ok {
			*p = r
			return nil
		}
	}
	return json.Unmarshal(line, v)
}

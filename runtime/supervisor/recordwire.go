package supervisor

import (
	"encoding/json"
	"strconv"

	"github.com/berthdev/berth/internal/jsonscan"
)

// Each launch of a supervised start updates its service's record (read,
// changed, written) and appends an event: encoding/json's reflection over
// the two was 2 ms of the supervisor's CPU in a start of 100 (perf). They
// are written here as encoding/json writes them (FuzzEncodeRecord,
// FuzzEncodeEvent) and a record read back where it is as berth writes it,
// by encoding/json otherwise (FuzzDecodeRecord), as the messages are
// (wire.go).

// marshalRecord is json.Marshal(r).
func marshalRecord(r *Record) ([]byte, error) {
	b := make([]byte, 0, 256)
	b = jsonscan.AppendString(append(b, `{"service":`...), r.Service)
	b = strconv.AppendBool(append(b, `,"wanted":`...), r.Wanted)
	b = strconv.AppendBool(append(b, `,"supervised":`...), r.Supervised)
	b = appendText(b, `,"policy":`, r.Policy)
	b = appendInt(b, `,"pid":`, int64(r.PID))
	b = strconv.AppendInt(append(b, `,"restarts":`...), int64(r.Restarts), 10)
	ok := true
	if r.LastExit != nil {
		b, ok = appendExit(append(b, `,"last_exit":`...), r.LastExit)
	}
	b = appendText(b, `,"gave_up":`, r.GaveUp)
	b = appendText(b, `,"stopped":`, r.Stopped)
	b, ok2 := appendTime(append(b, `,"updated_at":`...), r.UpdatedAt)
	if !ok || !ok2 {
		return json.Marshal(*r) // a copy: r itself stays off the heap
	}
	return append(b, '}'), nil
}

// marshalEvent is json.Marshal(e).
func marshalEvent(e *Event) ([]byte, error) {
	b := make([]byte, 0, 256)
	b, ok := appendTime(append(b, `{"at":`...), e.At)
	b = jsonscan.AppendString(append(b, `,"service":`...), e.Service)
	b = jsonscan.AppendString(append(b, `,"event":`...), e.Kind)
	b = appendInt(b, `,"pid":`, int64(e.PID))
	if e.Exit != nil && ok {
		b, ok = appendExit(append(b, `,"exit":`...), e.Exit)
	}
	if !ok {
		return json.Marshal(*e)
	}
	b = appendText(b, `,"delay":`, e.Delay)
	b = appendInt(b, `,"restarts":`, int64(e.Restarts))
	b = appendText(b, `,"reason":`, e.Reason)
	b = appendText(b, `,"runner":`, e.Runner)
	b = appendText(b, `,"container_id":`, e.Container)
	b = appendText(b, `,"task_id":`, e.Task)
	if e.Unsupervised {
		b = append(b, `,"unsupervised":true`...)
	}
	return append(b, '}'), nil
}

// decodeRecord reads a record file as updateRecord writes it (padded with
// spaces to the length it had, and a newline); ok is false for anything
// else, which encoding/json reads.
func decodeRecord(data []byte) (r Record, ok bool) {
	for len(data) > 0 && (data[len(data)-1] == ' ' || data[len(data)-1] == '\n') {
		data = data[:len(data)-1]
	}
	var seen uint16
	ok = jsonscan.Object(data, func(key, v []byte) ([]byte, bool) {
		bit, known := recordKeys[string(key)]
		if !known || seen&bit != 0 {
			return nil, false
		}
		seen |= bit
		switch string(key) {
		case "service":
			return textTo(v, &r.Service)
		case "wanted":
			return boolTo(v, &r.Wanted)
		case "supervised":
			return boolTo(v, &r.Supervised)
		case "policy":
			return textTo(v, &r.Policy)
		case "pid":
			return intTo(v, &r.PID)
		case "restarts":
			return intTo(v, &r.Restarts)
		case "gave_up":
			return textTo(v, &r.GaveUp)
		case "stopped":
			return textTo(v, &r.Stopped)
		case "updated_at":
			// The quotes are part of what Time.UnmarshalJSON reads.
			s, rest, ok := jsonscan.String(v)
			return rest, ok && r.UpdatedAt.UnmarshalJSON(v[:len(s)+2]) == nil
		}
		r.LastExit = new(ExitInfo)
		return decodeExit(v, r.LastExit)
	})
	return r, ok
}

var recordKeys = map[string]uint16{"service": 1 << 0, "wanted": 1 << 1, "supervised": 1 << 2, "policy": 1 << 3,
	"pid": 1 << 4, "restarts": 1 << 5, "last_exit": 1 << 6, "gave_up": 1 << 7, "stopped": 1 << 8, "updated_at": 1 << 9}

package supervisor

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/berthdev/berth/runtime"
	"github.com/berthdev/berth/runtime/process"
)

// fillAll sets every exported field of the struct v points to, at any
// depth, to a value other than its zero, so that a field added to a
// message, a record or a handle is written by the test below whether or
// not a fuzz target names it.
func fillAll(t *testing.T, v reflect.Value) {
	t.Helper()
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		fillAll(t, v.Elem())
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(time.Date(2026, 11, 30, 7, 8, 9, 123456789, time.UTC)))
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fillAll(t, v.Field(i))
			}
		}
	case reflect.String:
		v.SetString("a \"b\" <c>")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(7)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(9)
	case reflect.Slice:
		switch v.Type() {
		case reflect.TypeFor[[]Record](), reflect.TypeFor[[]json.RawMessage]():
			return // Response.Watched, Request.Batch: encoding/json's
		}
		if v.Type().Elem().Kind() != reflect.String {
			t.Fatalf("fillAll: a field of type %s: teach the test (and the hand-written codecs) what it is", v.Type())
		}
		v.Set(reflect.ValueOf([]string{"x", "y=1"}).Convert(v.Type()))
	default:
		t.Fatalf("fillAll: a field of kind %s (%s): teach the test (and the hand-written codecs) what it is", v.Kind(), v.Type())
	}
}

// TestHandWrittenCodecsKnowEveryField holds the messages, records, events
// and PID-file handles that berth writes without encoding/json to every
// field their types have: each, with all fields set, is written byte for
// byte as encoding/json writes it, and read back as encoding/json reads it
// where the shortcut reads it at all (a handle with a container's fields,
// or an answer carrying one, is encoding/json's to read).
// A field added to one of these types fails here until wire.go,
// recordwire.go or process/pidfast.go writes it (and its fuzz target names
// it). The fields a message sends through encoding/json anyway (a stop's,
// a batch, a status's records, a stop's timeout) are left zero.
func TestHandWrittenCodecsKnowEveryField(t *testing.T) {
	// What a message sends through encoding/json anyway is left zero.
	var req Request
	fillAll(t, reflect.ValueOf(&req))
	req.Stop, req.Batch = nil, nil
	var resp Response
	fillAll(t, reflect.ValueOf(&resp))
	resp.Watched, resp.Timeout = nil, nil
	var rec Record
	fillAll(t, reflect.ValueOf(&rec))
	var ev Event
	fillAll(t, reflect.ValueOf(&ev))
	var h runtime.Handle
	fillAll(t, reflect.ValueOf(&h))

	same := func(what string, got []byte, err error, v any) {
		t.Helper()
		want, werr := json.Marshal(v)
		if err != nil || werr != nil || string(got) != string(want) {
			t.Errorf("%s:\n  hand-written  %s (%v)\n  encoding/json %s (%v)", what, got, err, want, werr)
		}
	}
	got, err := marshalRequest(&req)
	same("Request", got, err, req)
	if back, ok := decodeRequest(got); !ok || !reflect.DeepEqual(back, req) {
		t.Errorf("decodeRequest(%s) = %+v, %v; want %+v", got, back, ok, req)
	}
	got, err = marshalResponse(&resp)
	same("Response", got, err, resp)
	if back, ok := decodeResponse(got); ok && !sameResponse(back, resp) {
		t.Errorf("decodeResponse(%s) = %+v, %v; want %+v", got, back, ok, resp)
	}
	got, err = marshalRecord(&rec)
	same("Record", got, err, rec)
	if back, ok := decodeRecord(got); !ok || !reflect.DeepEqual(back, rec) {
		t.Errorf("decodeRecord(%s) = %+v, %v; want %+v", got, back, ok, rec)
	}
	got, err = marshalEvent(&ev)
	same("Event", got, err, ev)
	got, ok := process.AppendHandle(nil, &h)
	if !ok {
		t.Fatalf("AppendHandle refused %+v", h)
	}
	same("runtime.Handle", got, nil, h)
	if back, rest, ok := process.DecodeHandleAt(got); ok && (len(rest) != 0 || !reflect.DeepEqual(back, h)) {
		t.Errorf("DecodeHandleAt(%s) = %+v, %q, %v; want %+v", got, back, rest, ok, h)
	}
}

package supervisor

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth/runtime"
)

// startRequest and startAnswer are a start's messages as a command and
// its supervisor write them.
func startRequest() Request {
	return Request{Protocol: Protocol, Version: "dev", Op: opStart, ID: 7, Service: "s004",
		Spec: &Spec{Name: "s004", Runner: "process", Argv: []string{"/tmp/testsvc", "--tcp", "127.0.0.1:23104"},
			Env: []string{}, EnvFrom: 35, Dir: "/tmp/env", StopSignal: 15, StopGrace: 5 * time.Second,
			Log: runtime.LogSpec{To: "discard"}, StateDir: "/tmp/env/pids", Root: "/tmp/env", Environment: "env"}}
}

func startAnswer() Response {
	return Response{Protocol: Protocol, Version: "dev", ID: 7, PID: 12617, Handle: &runtime.Handle{Service: "s002",
		Runner: "process", PID: 12643, PGID: 12643, StartTime: 36931, StartedAt: time.Now().UTC().Truncate(time.Millisecond),
		Env: "/tmp/env", Token: "65024:9978127/s002/fc81b755185d0b2d94de3b42"}}
}

// A start's request and answer are written and read without encoding/json
// (which made 2 and 4 allocations writing them, 27 and 13 reading): one
// allocation to write each (its bytes); reading, its strings, the Spec or
// Handle, the argv as it grows and the message itself, which unmarshal's
// callers keep on the heap in any case.
func TestStartMessagesAllocations(t *testing.T) {
	req, resp := startRequest(), startAnswer()
	reqLine, _ := marshalRequest(&req)
	respLine, _ := marshalResponse(&resp)
	for _, tc := range []struct {
		name string
		max  float64
		f    func()
	}{
		{"request written", 1, func() { marshalRequest(&req) }},
		{"answer written", 1, func() { marshalResponse(&resp) }},
		{"request read", 18, func() {
			var r Request
			unmarshal(reqLine, &r)
		}},
		{"answer read", 7, func() {
			var r Response
			unmarshal(respLine, &r)
		}},
	} {
		if n := testing.AllocsPerRun(100, tc.f); n > tc.max {
			t.Errorf("%s: %v allocations, want at most %v", tc.name, n, tc.max)
		}
	}
}

// What a command and its supervisor write for a start, a settle, a wait
// and their answers is read without encoding/json, as it was written.
func TestStartMessagesTakeTheShortcut(t *testing.T) {
	withBase := startRequest()
	withBase.EnvBase = []string{"A=b", `Q="<&>"`, "U=caf\u00e9"}
	withBase.Spec.Env = []string{"X=1"}
	exited := startAnswer()
	exited.Handle, exited.Exit = nil, exitInfo(runtime.Exit{Signal: 9}, time.Now())
	for _, req := range []Request{startRequest(), withBase, {Protocol: Protocol, Version: "dev", Op: opSettle, ID: 3, OK: true},
		{Protocol: Protocol, Version: "dev", Op: opWait, ID: 4, Service: "api", PID: 12}} {
		line, _ := marshalRequest(&req)
		got, ok := decodeRequest(append(line, '\n'))
		if !ok || !reflect.DeepEqual(got, req) {
			t.Errorf("decodeRequest(%s) = %+v, %v", line, got, ok)
		}
	}
	for _, resp := range []Response{startAnswer(), exited, {Protocol: Protocol, Version: "dev", ID: 2, PID: 5, Error: "x", Code: codeUnknown}} {
		line, _ := marshalResponse(&resp)
		got, ok := decodeResponse(append(line, '\n'))
		if !ok || !sameResponse(got, resp) {
			t.Errorf("decodeResponse(%s) = %+v, %v", line, got, ok)
		}
	}
}

// sameResponse compares answers, their times by instant and zone.
func sameResponse(a, b Response) bool {
	times := func(r *Response) (out []time.Time) {
		if r.Handle != nil {
			h := *r.Handle
			out, h.StartedAt = append(out, h.StartedAt), time.Time{}
			r.Handle = &h
		}
		if r.Exit != nil {
			x := *r.Exit
			out, x.At = append(out, x.At), time.Time{}
			r.Exit = &x
		}
		return out
	}
	ta, tb := times(&a), times(&b)
	for i := range ta {
		if !ta[i].Equal(tb[i]) || ta[i].String() != tb[i].String() {
			return false
		}
	}
	return len(ta) == len(tb) && reflect.DeepEqual(a, b)
}

func FuzzEncodeRequest(f *testing.F) {
	f.Add(7, "dev", "start", uint64(3), "api", true, "api", "/bin/x\x00--y", "A=1\x00B=<&>", 4, int64(5e9), "discard", 0, false, "", false)
	f.Add(-1, "\xff", "", uint64(0), "", false, "", "", "", 0, int64(-1), "", -5, true, "P=1\x00\u2028", true)
	f.Fuzz(func(t *testing.T, protocol int, version, op string, id uint64, service string, spec bool, name, argv, env string,
		envFrom int, grace int64, logTo string, pid int, ok bool, base string, stopping bool) {
		req := Request{Protocol: protocol, Version: version, Op: op, ID: id, Service: service, PID: pid, OK: ok,
			EnvBase: list(base), Stopping: stopping}
		if spec {
			req.Spec = &Spec{Name: name, Runner: op, Argv: list(argv), Env: list(env), EnvFrom: envFrom, Dir: version,
				StopSignal: pid, StopGrace: time.Duration(grace), Log: runtime.LogSpec{To: logTo, Path: name, MaxSize: grace,
					MaxFiles: envFrom, AppLog: service}, StateDir: argv, Root: env, Environment: base}
		}
		want, err := json.Marshal(req)
		got, gerr := marshalRequest(&req)
		if err != nil || gerr != nil || string(got) != string(want) {
			t.Fatalf("marshalRequest(%+v) = %s, %v; encoding/json %s, %v", req, got, gerr, want, err)
		}
	})
}

// list splits s at NULs; "" is nil, "\x00" one empty string.
func list(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\x00")
}

func FuzzEncodeResponse(f *testing.F) {
	f.Add(7, "dev", uint64(2), 12, "", "", true, "api", 13, int64(1764489600123456789), false, 0, "", false, "")
	f.Add(7, "<>", uint64(0), 0, "a \"b\"", "closing", false, "", 0, int64(0), true, 137, "KILL", true, "x 1 2 t;")
	f.Fuzz(func(t *testing.T, protocol int, version string, id uint64, pid int, errText, code string, handle bool, svc string,
		hpid int, at int64, exit bool, exitCode int, signal string, unknown bool, live string) {
		r := Response{Protocol: protocol, Version: version, ID: id, PID: pid, Error: errText, Code: code, Live: live}
		// Years past 9999 too, which encoding/json refuses to write.
		when := time.Unix(at/1e9*1000, at%1e9).In(time.FixedZone("", int(at%50000)))
		if handle {
			r.Handle = &runtime.Handle{Service: svc, Runner: code, PID: hpid, StartTime: uint64(id), StartedAt: when, Token: live}
		}
		if exit {
			r.Exit = &ExitInfo{Code: exitCode, Signal: signal, Unknown: unknown, At: when}
		}
		want, err := json.Marshal(r)
		got, gerr := marshalResponse(&r)
		if (err == nil) != (gerr == nil) || string(got) != string(want) {
			t.Fatalf("marshalResponse(%+v) = %s, %v; encoding/json %s, %v", r, got, gerr, want, err)
		}
	})
}

func FuzzDecodeRequest(f *testing.F) {
	for _, req := range []Request{startRequest(), {Protocol: 7, Op: opSettle, ID: 3, OK: true, EnvBase: []string{"A=\"b\"", "C"}}} {
		line, _ := json.Marshal(req)
		f.Add(line)
	}
	f.Add([]byte(`{"protocol":7,"spec":{"argv":null,"env":[],"log":{"To":"x","MaxSize":-3}},"op":"a\u0062","ok":false}`))
	f.Add([]byte(`{"protocol":7,"protocol":8}`))
	f.Add([]byte(`{"id":18446744073709551615,"pid":-9223372036854775807,"stopping":true}` + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, ok := decodeRequest(data)
		if !ok {
			return
		}
		var want Request
		if err := json.Unmarshal(data, &want); err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: read %+v, encoding/json %+v (%v)", data, got, want, err)
		}
	})
}

func FuzzDecodeResponse(f *testing.F) {
	exited := startAnswer()
	exited.Exit = &ExitInfo{Code: 137, Signal: "KILL", At: time.Now()}
	for _, r := range []Response{startAnswer(), exited} {
		line, _ := json.Marshal(r)
		f.Add(line)
	}
	f.Add([]byte(`{"protocol":7,"error":"a \"b\"","exit":{"code":-1,"unknown":true,"at":"2026-11-30T06:20:08+01:00"}}`))
	f.Add([]byte(`{"handle":{"pid":1},"handle":{"pid":2}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, ok := decodeResponse(data)
		if !ok {
			return
		}
		var want Response
		if err := json.Unmarshal(data, &want); err != nil || !sameResponse(got, want) {
			t.Fatalf("%q: read %+v, encoding/json %+v (%v)", data, got, want, err)
		}
	})
}

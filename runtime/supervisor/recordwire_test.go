package supervisor

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

func aRecord() Record {
	return Record{Service: "s002", Wanted: true, Supervised: true, Policy: "no", PID: 12643, Restarts: 2,
		LastExit: &ExitInfo{Code: 143, Signal: "TERM", At: time.Now().UTC()}, Stopped: "by user", UpdatedAt: time.Now().UTC()}
}

// A launch's record update and event are written, and the record read,
// without encoding/json (which made 4 allocations to write this record,
// 3 for the event and 12 to read the record): one to write each, and
// reading, the record's strings and its last exit.
func TestRecordAllocations(t *testing.T) {
	r := aRecord()
	e := Event{At: time.Now().UTC(), Service: "s002", Kind: EventStarted, PID: 12643}
	data, _ := marshalRecord(&r)
	data = append(data, "   \n"...)
	for _, tc := range []struct {
		name string
		max  float64
		f    func()
	}{
		{"record written", 1, func() { marshalRecord(&r) }},
		{"event written", 1, func() { marshalEvent(&e) }},
		{"record read", 5, func() { parseRecord(data, "s002") }},
	} {
		if n := testing.AllocsPerRun(100, tc.f); n > tc.max {
			t.Errorf("%s: %v allocations, want at most %v", tc.name, n, tc.max)
		}
	}
	got, ok := decodeRecord(data)
	if !ok || !sameRecord(got, r) {
		t.Errorf("decodeRecord(%s) = %+v, %v", data, got, ok)
	}
}

// sameRecord compares records, their times by instant and zone.
func sameRecord(a, b Record) bool {
	ta, tb := []time.Time{a.UpdatedAt}, []time.Time{b.UpdatedAt}
	a.UpdatedAt, b.UpdatedAt = time.Time{}, time.Time{}
	for _, p := range []*Record{&a, &b} {
		if p.LastExit != nil {
			x := *p.LastExit
			if p == &a {
				ta = append(ta, x.At)
			} else {
				tb = append(tb, x.At)
			}
			x.At = time.Time{}
			p.LastExit = &x
		}
	}
	if len(ta) != len(tb) {
		return false
	}
	for i := range ta {
		if !ta[i].Equal(tb[i]) || ta[i].String() != tb[i].String() {
			return false
		}
	}
	return reflect.DeepEqual(a, b)
}

func FuzzEncodeRecord(f *testing.F) {
	f.Add("api", true, false, "always", 12, 3, true, 143, "TERM", false, "", "by user", int64(1764489600123456789))
	f.Add("<&>", false, true, "", 0, -1, false, 0, "", true, "gave up after 3 restarts", "", int64(1<<62))
	f.Fuzz(func(t *testing.T, svc string, wanted, supervised bool, policy string, pid, restarts int, exited bool,
		code int, signal string, unknown bool, gaveUp, stopped string, at int64) {
		// Years past 9999 too, which encoding/json refuses to write.
		when := time.Unix(at/1e9*1000, at%1e9).In(time.FixedZone("", int(at%50000)))
		r := Record{Service: svc, Wanted: wanted, Supervised: supervised, Policy: policy, PID: pid, Restarts: restarts,
			GaveUp: gaveUp, Stopped: stopped, UpdatedAt: when.Add(time.Duration(pid))}
		if exited {
			r.LastExit = &ExitInfo{Code: code, Signal: signal, Unknown: unknown, At: when}
		}
		want, err := json.Marshal(r)
		got, gerr := marshalRecord(&r)
		if (err == nil) != (gerr == nil) || string(got) != string(want) {
			t.Fatalf("marshalRecord(%+v) = %s, %v; encoding/json %s, %v", r, got, gerr, want, err)
		}
	})
}

func FuzzEncodeEvent(f *testing.F) {
	f.Add(int64(1764489600123456789), "api", "exited", 12, true, 1, "", "1s", 2, "during its start", "", "", "", false)
	f.Add(int64(1<<62), "", "<oom>", 0, false, 0, "KILL", "", 0, "", "container", "abc", "t&1", true)
	f.Fuzz(func(t *testing.T, at int64, svc, kind string, pid int, exited bool, code int, signal, delay string, restarts int,
		reason, runner, container, task string, unsupervised bool) {
		when := time.Unix(at/1e9*1000, at%1e9).In(time.FixedZone("", int(at%50000)))
		e := Event{At: when, Service: svc, Kind: kind, PID: pid, Delay: delay, Restarts: restarts, Reason: reason,
			Runner: runner, Container: container, Task: task, Unsupervised: unsupervised}
		if exited {
			e.Exit = &ExitInfo{Code: code, Signal: signal, At: when.Add(time.Duration(code))}
		}
		want, err := json.Marshal(e)
		got, gerr := marshalEvent(&e)
		if (err == nil) != (gerr == nil) || string(got) != string(want) {
			t.Fatalf("marshalEvent(%+v) = %s, %v; encoding/json %s, %v", e, got, gerr, want, err)
		}
	})
}

func FuzzDecodeRecord(f *testing.F) {
	r := aRecord()
	line, _ := json.Marshal(r)
	f.Add(append(line, "  \n"...))
	f.Add([]byte(`{"service":"s002","wanted":false,"supervised":false,"policy":"no","restarts":0,"stopped":"by user","updated_at":"2026-11-30T06:18:53.696411531Z"}` + "\n"))
	f.Add([]byte(`{"wanted":true,"wanted":false}`))
	f.Add([]byte(`{"last_exit":{"code":-1,"unknown":true,"at":"2026-11-30T06:20:08+01:00"},"pid":0}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, ok := decodeRecord(data)
		if !ok {
			return
		}
		var want Record
		if err := json.Unmarshal(data, &want); err != nil || !sameRecord(got, want) {
			t.Fatalf("%q: read %+v, encoding/json %+v (%v)", data, got, want, err)
		}
	})
}

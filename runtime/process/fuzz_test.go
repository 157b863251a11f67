package process

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/berthdev/berth/runtime"
)

func FuzzParsePIDFile(f *testing.F) {
	for _, s := range []string{"123\n", `{"pid":1,"pgid":1,"start_time":5}`, "", "{", "-4", "12 13"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := parsePIDFile(data)
		if err == nil && (r.PID < 0 || (r.PID == 0 && r.Token == "")) {
			t.Fatalf("accepted pid %d", r.PID)
		}
	})
}

func FuzzParseStat(f *testing.F) {
	f.Add([]byte("12 (a b) c) S 1 12 12 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 6896 1 1"))
	f.Add([]byte("1 (x) R"))
	f.Fuzz(func(t *testing.T, data []byte) { parseStat(data) })
}

func TestParseStat(t *testing.T) {
	tests := []struct {
		line      string
		wantPGID  int
		wantStart uint64
		wantErr   bool
	}{
		{"12 (sh) S 1 12 12 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 6896 1 1", 12, 6896, false},
		{"12 (a) b) c) Z 1 40 12 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 77 1 1", 40, 77, false},
		{"12 (sh) S 1", 0, 0, true},
		{"garbage", 0, 0, true},
	}
	for _, tc := range tests {
		st, err := parseStat([]byte(tc.line))
		if (err != nil) != tc.wantErr || st.PGID != tc.wantPGID || st.StartTime != tc.wantStart {
			t.Errorf("parseStat(%q) = %+v, %v", tc.line, st, err)
		}
	}
}

// FuzzDecodeHandle holds the PID-file shortcut to encoding/json's answer:
// whatever it accepts, encoding/json reads the same.
func FuzzDecodeHandle(f *testing.F) {
	for _, s := range decodeHandleCases {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { sameAsJSON(t, data) })
}

var decodeHandleCases = []string{
	`{"service":"s050","runner":"process","pid":14905,"pgid":14905,"start_time":34076,"started_at":"2026-11-29T14:02:31.678Z","env":"/tmp/sp/env100","token":"65024:9986852/s050/3b640d8a6b58c55e3a8a9cf8"}`,
	`{"service":"a","runner":"process","token":"1:2/a/x","log_from":12}`,
	`{"pid":1,"pgid":1,"start_time":5}`,
	`{"service":"a","service":"b"}`,
	`{"Service":"a"}`,
	`{"service":"a\u0062"}`,
	`{"service":"caf` + "\xe9" + `"}`,
	`{"pid":01}`, `{"pid":-1}`, `{"pid":1.5}`, `{"pid":1e3}`, `{"pid":99999999999999999999}`, `{"pid":9223372036854775807}`,
	`{"pid":null}`, `{ "pid":1}`, `{"pid":1,}`, `{}`, `{"bogus":1}`,
	`{"started_at":"2026-11-29T14:02:31+01:00"}`, `{"started_at":"yesterday"}`, `{"started_at":"2026-11-29 14:02:31Z"}`,
	`{"service":"a"}}`, `{"service":"a"`, `{"service":"}`,
}

func TestDecodeHandleAgreesWithJSON(t *testing.T) {
	fast := 0
	for _, c := range decodeHandleCases {
		if _, ok := decodeHandle([]byte(c)); ok {
			fast++
		}
		sameAsJSON(t, []byte(c))
	}
	// What berth writes takes the shortcut (or this test compares nothing).
	h := runtime.Handle{Service: "api", Runner: "process", PID: 12, PGID: 12, StartTime: 99,
		StartedAt: time.Now(), Env: "/e", Token: "1:2/api/ab", LogFrom: 7, Host: "h", ID: "i"}
	data, _ := json.Marshal(h)
	got, ok := decodeHandle(data)
	if !ok || !got.StartedAt.Equal(h.StartedAt) {
		t.Fatalf("decodeHandle(%s) = %+v, %v", data, got, ok)
	}
	got.StartedAt, h.StartedAt = time.Time{}, time.Time{}
	if got != h || fast < 5 {
		t.Fatalf("decodeHandle = %+v, want %+v (%d cases took the shortcut)", got, h, fast)
	}
}

func sameAsJSON(t *testing.T, data []byte) {
	t.Helper()
	got, ok := decodeHandle(data)
	if !ok {
		return
	}
	var want runtime.Handle
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatalf("decodeHandle accepted %s, encoding/json says %v", data, err)
	}
	if !got.StartedAt.Equal(want.StartedAt) || got.StartedAt.String() != want.StartedAt.String() {
		t.Fatalf("%s: started_at %v, encoding/json %v", data, got.StartedAt, want.StartedAt)
	}
	got.StartedAt, want.StartedAt = time.Time{}, time.Time{}
	if got != want {
		t.Fatalf("%s: decodeHandle %+v, encoding/json %+v", data, got, want)
	}
}

// FuzzStatFields holds the stat splitter to bytes.Fields on the fields it
// keeps.
func FuzzStatFields(f *testing.F) {
	f.Add([]byte(" S 1 12 12 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 6896 1 1"))
	f.Add([]byte(" S\t1\v2 \u00a0 3"))
	f.Add([]byte(" S 1\u2003x 2"))
	f.Fuzz(func(t *testing.T, tail []byte) {
		var dst [20][]byte
		got, want := statFields(tail, &dst), bytes.Fields(tail)
		if len(want) > 20 {
			want = want[:20]
		}
		if len(got) > 20 {
			got = got[:20]
		}
		if len(got) != len(want) {
			t.Fatalf("%q: %q, bytes.Fields %q", tail, got, want)
		}
		for i := range got {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("%q: %q, bytes.Fields %q", tail, got, want)
			}
		}
	})
}

// FuzzAppendHandle holds AppendHandle to encoding/json's bytes.
func FuzzAppendHandle(f *testing.F) {
	f.Add("api", "process", 12, 12, uint64(99), int64(1764489600123456789), "", "", "/e", "1:2/api/ab", int64(7))
	f.Add("a<b>&\"c\\", "\xff\u2028", -1, 0, uint64(0), int64(0), "i", "h", "", "", int64(-3))
	f.Add("", "", 0, 0, uint64(1<<63), int64(-620000000000000000), "", "", "caf\u00e9", "\x00", int64(0))
	f.Add("x", "y", 1, 1, uint64(1), int64(1<<62), "", "", "", "", int64(0))
	f.Fuzz(func(t *testing.T, svc, runner string, pid, pgid int, st uint64, at int64, id, host, env, token string, logFrom int64) {
		h := runtime.Handle{Service: svc, Runner: runner, PID: pid, PGID: pgid, StartTime: st, ID: id, Host: host,
			Env: env, Token: token, LogFrom: logFrom}
		if at != 0 {
			// Years past 9999 too, which encoding/json refuses to write.
			h.StartedAt = time.Unix(at/1e9*1000, at%1e9).In(time.FixedZone("", int(at%50000)))
		}
		want, err := json.Marshal(h)
		got, ok := AppendHandle(nil, &h)
		if ok != (err == nil) || (ok && string(got) != string(want)) {
			t.Fatalf("AppendHandle(%+v) = %s, %v; encoding/json %s, %v", h, got, ok, want, err)
		}
	})
}

// A PID file is written without encoding/json: one allocation, the
// record's bytes (encoding/json makes 3 for a handle with its start time).
func TestMarshalHandleAllocations(t *testing.T) {
	h := runtime.Handle{Service: "api", Runner: "process", PID: 12, PGID: 12, StartTime: 99,
		StartedAt: time.Now().UTC().Truncate(time.Millisecond), Env: "/e", Token: "1:2/api/ab"}
	if n := testing.AllocsPerRun(100, func() { marshalHandle(h) }); n > 1 {
		t.Errorf("marshalHandle made %v allocations, want 1", n)
	}
}

package supervisor

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/berthdev/berth/runtime"
)

var benchReq = []byte(`{"protocol":5,"version":"dev","op":"start","id":1,"service":"s001","spec":{"name":"s001","runner":"process","argv":["/tmp/sb/testsvc","--tcp","127.0.0.1:23100"],"env":[],"env_from":35,"dir":"/tmp/sb/env100","stop_signal":15,"stop_grace":5000000000,"log":{"To":"discard","Path":"","MaxSize":0,"MaxFiles":0,"AppLog":""},"state_dir":"/tmp/sb/env100/pids","root":"/tmp/sb/env100","environment":"env100"}}`)

func BenchmarkDecodeStart(b *testing.B) {
	for b.Loop() {
		var r Request
		json.Unmarshal(benchReq, &r)
	}
}

func BenchmarkEncodeAnswer(b *testing.B) {
	h := runtime.Handle{Service: "s001", Runner: "process", PID: 14778, PGID: 14778, StartTime: 151112, StartedAt: time.Now(), Env: "/tmp/sb/env100", Token: "65024:9978001/s001/d69440cfe898f68cd3c2b298"}
	for b.Loop() {
		json.Marshal(Response{Protocol: 5, Version: "dev", ID: 1, PID: 1, Handle: &h})
	}
}

func BenchmarkRecordUpdate(b *testing.B) {
	p := PathsOf(b.TempDir())
	for b.Loop() {
		updateRecord(p, "s001", func(r *Record) { r.Wanted, r.Supervised, r.PID = true, true, 5 })
	}
}

func BenchmarkAppendEvent(b *testing.B) {
	p := PathsOf(b.TempDir())
	for b.Loop() {
		AppendEvent(p, Event{Service: "s001", Kind: EventStarted, PID: 4})
	}
}

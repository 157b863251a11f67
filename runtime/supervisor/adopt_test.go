package supervisor

import (
	"os"
	"path/filepath"
	"testing"
)

// A new supervisor skips reading the manifest only when nothing can be
// adopted: no PID file (spares and start locks are not PID files) and no
// record of a service a supervisor watched.
func TestNothingToAdopt(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files []string
		want  bool
	}{
		{"no directory", nil, false},
		{"spares and locks", []string{".api.pid.spare", "api.lock"}, false},
		{"a PID file", []string{".api.pid.spare", "api.pid"}, true},
	} {
		dir := filepath.Join(t.TempDir(), "pids")
		if tc.files != nil {
			os.Mkdir(dir, 0o755)
		}
		for _, f := range tc.files {
			os.WriteFile(filepath.Join(dir, f), nil, 0o644)
		}
		if got := anyPIDFile(dir); got != tc.want {
			t.Errorf("%s: anyPIDFile %v, want %v", tc.name, got, tc.want)
		}
	}
	if anyWatched(map[string]Record{"a": {Wanted: true}, "b": {Supervised: true}}) {
		t.Error("anyWatched true without a record both wanted and supervised")
	}
	if !anyWatched(map[string]Record{"a": {Wanted: true, Supervised: true}}) {
		t.Error("anyWatched false with a watched record")
	}
}

// A supervisor killed while it watched a service that then ended leaves
// its record wanted and supervised, with no PID file: the next one still
// records that the service is no longer watched.
func TestNewSupervisorRecordsUnwatchedWithoutPIDFiles(t *testing.T) {
	root := t.TempDir()
	p := PathsOf(root)
	os.MkdirAll(p.Runs, 0o755)
	if err := WriteRecord(p, Record{Service: "s0", Wanted: true, Supervised: true, PID: 99999}); err != nil {
		t.Fatal(err)
	}
	_, c, _ := serveForTestAt(t, root, 1)
	_ = c
	r, err := ReadRecord(p, "s0")
	if err != nil {
		t.Fatal(err)
	}
	if r.Supervised || r.PID != 0 || r.LastExit == nil || !r.LastExit.Unknown {
		t.Errorf("record after a new supervisor: %+v, want unwatched with an unknown exit", r)
	}
}

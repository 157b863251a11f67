package supervisor

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
)

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

// A record is rewritten in place: no new file (an inode allocation per
// write was half of a supervised stop's CPU), and a shorter record after a
// longer one reads back whole.
func TestRecordRewrittenInPlace(t *testing.T) {
	p := PathsOf(t.TempDir())
	long := Record{Service: "api", Wanted: true, GaveUp: strings.Repeat("x", 300), Restarts: 12345}
	if err := writeRecord(p, long); err != nil {
		t.Fatal(err)
	}
	ino := inode(t, recordPath(p, "api"))
	if err := updateRecord(p, "api", func(r *Record) { *r = Record{Service: "api", Stopped: "by user"} }); err != nil {
		t.Fatal(err)
	}
	if got := inode(t, recordPath(p, "api")); got != ino {
		t.Errorf("the record was replaced by a new file (inode %d, was %d)", got, ino)
	}
	r, err := ReadRecord(p, "api")
	if err != nil {
		t.Fatal(err)
	}
	if r.Service != "api" || r.Stopped != "by user" || r.GaveUp != "" || r.Restarts != 0 || r.Wanted {
		t.Errorf("record read back: %+v", r)
	}
	names, _ := os.ReadDir(p.Runs)
	if len(names) != 1 {
		t.Errorf("files in %s: %v, want the record alone", p.Runs, names)
	}
}

// An empty record file (created by a writer that has not written yet, or
// that died first) is no record, and the next update writes it whole.
func TestRecordEmptyFileIsNoRecord(t *testing.T) {
	p := PathsOf(t.TempDir())
	os.MkdirAll(p.Runs, 0o755)
	if err := os.WriteFile(recordPath(p, "api"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := ReadRecord(p, "api")
	if err != nil || r != (Record{Service: "api"}) {
		t.Fatalf("empty record file: %+v, %v", r, err)
	}
	if err := updateRecord(p, "api", func(r *Record) { r.Restarts++ }); err != nil {
		t.Fatal(err)
	}
	if r, err := ReadRecord(p, "api"); err != nil || r.Restarts != 1 {
		t.Fatalf("after an update: %+v, %v", r, err)
	}
}

// Two writers never lose each other's change: each update reads and
// writes under the file's lock. Reading, then renaming a new file over
// the record, lost updates made at the same time.
func TestRecordConcurrentUpdatesKeepEveryChange(t *testing.T) {
	p := PathsOf(t.TempDir())
	const n = 50
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := updateRecord(p, "api", func(r *Record) { r.Restarts++ }); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if r, err := ReadRecord(p, "api"); err != nil || r.Restarts != n {
		t.Fatalf("after %d concurrent increments: %+v, %v", n, r, err)
	}
}

// A reader never sees a record half written, while writers rewrite it in
// place with records of different lengths.
func TestRecordReadersSeeWholeRecords(t *testing.T) {
	p := PathsOf(t.TempDir())
	if err := writeRecord(p, Record{Service: "api"}); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				k := (i*7 + w) % 40
				// GaveUp is k copies of its policy's letter: a torn read
				// would mix them or cut them short.
				rec := Record{Service: "api", Restarts: k, Policy: fmt.Sprint(k % 2), GaveUp: strings.Repeat(fmt.Sprint(k%2), k*10)}
				if err := writeRecord(p, rec); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for range 2000 {
		r, err := ReadRecord(p, "api")
		if err != nil {
			t.Fatalf("read a record being rewritten: %v", err)
		}
		if len(r.GaveUp) != r.Restarts*10 || strings.Trim(r.GaveUp, r.Policy) != "" {
			t.Fatalf("read a torn record: %+v", r)
		}
	}
	close(done)
	wg.Wait()
}

// writeRecord writes r whole, as a supervisor of an earlier run left it.
func writeRecord(p Paths, r Record) error {
	return updateRecord(p, r.Service, func(old *Record) { *old = r })
}

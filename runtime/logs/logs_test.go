package logs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func write(t *testing.T, path, content string, mtime time.Time) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if !mtime.IsZero() {
		if err := os.Chtimes(path, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFiles(t *testing.T) {
	dir := t.TempDir()
	live := filepath.Join(dir, "service.log")
	for _, name := range []string{"service.log", "service.log.1", "service.log.2", "service.log.10", "service.log.bak", "service.log.0", "other.log.1"} {
		write(t, filepath.Join(dir, name), "x\n", time.Time{})
	}
	got, err := Files(live)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{live + ".10", live + ".2", live + ".1", live}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Files = %v, want %v", got, want)
	}
	os.Remove(live)
	if got, _ := Files(live); len(got) != 3 || got[2] != live+".1" {
		t.Fatalf("Files without the live file = %v", got)
	}
	odd := filepath.Join(dir, "we[ir]d*.log")
	write(t, odd, "x\n", time.Time{})
	write(t, odd+".1", "x\n", time.Time{})
	if got, _ := Files(odd); len(got) != 2 {
		t.Fatalf("Files of a name with glob characters = %v", got)
	}
}

func TestParseTime(t *testing.T) {
	local := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04:05.000", s, time.Local)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		line string
		want time.Time
		ok   bool
	}{
		{"2025-03-18T15:45:27Z started", time.Date(2025, 3, 18, 15, 45, 27, 0, time.UTC), true},
		{"2025-03-18T15:45:27.123456789+09:00 x", time.Date(2025, 3, 18, 15, 45, 27, 123456789, time.FixedZone("", 9*3600)), true},
		{"2025-03-18T15:45:27Z", time.Date(2025, 3, 18, 15, 45, 27, 0, time.UTC), true},
		{"2025-03-18 15:45:27,123 INFO core: up", local("2025-03-18 15:45:27.123"), true},
		{"2025-03-18 15:45:27.500 INFO", local("2025-03-18 15:45:27.500"), true},
		{"2025-03-18 15:45:27 INFO", local("2025-03-18 15:45:27.000"), true},
		{"2025-03-18T25:45:27Z bad hour", time.Time{}, false},
		{"Traceback (most recent call last):", time.Time{}, false},
		{"", time.Time{}, false},
		{"2025-03-18", time.Time{}, false},
	}
	for _, tt := range tests {
		got, ok := ParseTime(tt.line)
		if ok != tt.ok || !got.Equal(tt.want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v, %v", tt.line, got, ok, tt.want, tt.ok)
		}
	}
}

func collect(t *testing.T, sources []Source, opts Options) ([]string, error) {
	t.Helper()
	var got []string
	err := Stream(context.Background(), sources, opts, func(l Line) error {
		got = append(got, l.Source+":"+l.Text)
		return nil
	})
	return got, err
}

func TestHistory(t *testing.T) {
	dir := t.TempDir()
	live := filepath.Join(dir, "service.log")
	now := time.Now()
	old := now.Add(-2 * time.Hour)
	write(t, live+".2", "r2-a\nr2-b\n", old)
	write(t, live+".1", "r1-a\nr1-b\n", now.Add(-time.Minute))
	write(t, live, "l-a\nl-b\nl-c", now) // the last line is unfinished

	stamped := filepath.Join(dir, "app.log")
	t0 := time.Date(2025, 3, 18, 12, 0, 0, 0, time.UTC)
	write(t, stamped, strings.Join([]string{
		"preamble without a time",
		t0.Format(time.RFC3339) + " one",
		t0.Add(time.Minute).Format(time.RFC3339) + " two",
		"  traceback of two",
		t0.Add(2*time.Minute).Format(time.RFC3339) + " three",
		"  traceback of three",
	}, "\n")+"\n", now)

	all := []string{"s:r2-a", "s:r2-b", "s:r1-a", "s:r1-b", "s:l-a", "s:l-b", "s:l-c"}
	tests := []struct {
		name string
		path string
		opts Options
		want []string
	}{
		{"all", live, Options{Tail: -1}, all},
		{"tail within the live file", live, Options{Tail: 2}, all[5:]},
		{"tail across rotated files", live, Options{Tail: 4}, all[3:]},
		{"tail more than there is", live, Options{Tail: 100}, all},
		{"tail zero", live, Options{Tail: 0}, nil},
		{"since skips files last written before it", live, Options{Tail: -1, Since: now.Add(-time.Hour)}, all[2:]},
		{"since and tail", live, Options{Tail: 1, Since: now.Add(-time.Hour)}, all[6:]},
		{"since by line time; continuation lines follow their line", stamped, Options{Tail: -1, Since: t0.Add(time.Minute)},
			[]string{"s:preamble without a time", "s:" + t0.Add(time.Minute).Format(time.RFC3339) + " two", "s:  traceback of two", "s:" + t0.Add(2*time.Minute).Format(time.RFC3339) + " three", "s:  traceback of three"}},
		{"from a launch's offset: its lines only", live, Options{Tail: -1, From: 4}, all[5:]},
		{"from an offset, with tail", live, Options{Tail: 1, From: 4}, all[6:]},
		{"from beyond the file: replaced since, read whole", live, Options{Tail: -1, From: 100}, all[4:]},
		{"lines of unknown time are kept", stamped, Options{Tail: 2, Since: t0.Add(time.Hour)}, []string{"s:preamble without a time"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := collect(t, []Source{{Name: "s", Path: tt.path}}, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestHistoryOfSeveralSources(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a.log"), "a1\na2\n", time.Time{})
	pr, pw := io.Pipe()
	go func() { fmt.Fprint(pw, "c1\nc2"); pw.Close() }()
	got, err := collect(t, []Source{
		{Name: "a", Path: filepath.Join(dir, "a.log")},
		{Name: "b", Path: filepath.Join(dir, "missing.log")},
		{Name: "c", Reader: pr},
	}, Options{Tail: -1})
	want := []string{"a:a1", "a:a2", "c:c1", "c:c2"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if !errors.Is(err, ErrNoLog) || !strings.Contains(err.Error(), "logs of b") || !strings.Contains(err.Error(), "missing.log") {
		t.Errorf("err = %v, want ErrNoLog naming b and its file", err)
	}
}

func TestEmitErrorStops(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a.log"), "a1\na2\n", time.Time{})
	boom := errors.New("broken pipe")
	n := 0
	err := Stream(context.Background(), []Source{{Name: "a", Path: filepath.Join(dir, "a.log")}, {Name: "b", Path: filepath.Join(dir, "a.log")}},
		Options{Tail: -1}, func(Line) error { n++; return boom })
	if !errors.Is(err, boom) || n != 1 {
		t.Fatalf("err = %v after %d lines, want the emit error after one", err, n)
	}
}

// follower runs Stream with Follow in the background and hands over its lines.
type follower struct {
	lines  chan string
	cancel context.CancelFunc
	done   chan error
}

func follow(t *testing.T, sources []Source, opts Options) *follower {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	f := &follower{lines: make(chan string, 100), cancel: cancel, done: make(chan error, 1)}
	opts.Follow = true
	opts.Poll = 5 * time.Millisecond
	go func() {
		f.done <- Stream(ctx, sources, opts, func(l Line) error { f.lines <- l.Source + ":" + l.Text; return nil })
	}()
	t.Cleanup(func() {
		cancel()
		<-f.done
	})
	return f
}

func (f *follower) expect(t *testing.T, want ...string) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for _, w := range want {
		select {
		case got := <-f.lines:
			if got != w {
				t.Fatalf("line %q, want %q", got, w)
			}
		case <-deadline:
			t.Fatalf("no line %q within 5s", w)
		}
	}
}

func (f *follower) stop(t *testing.T) {
	t.Helper()
	f.cancel()
	select {
	case err := <-f.done:
		f.done <- err // for Cleanup
		if err != nil {
			t.Fatalf("Stream after cancel = %v, want a clean stop", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Stream did not stop within 2s of cancel")
	}
	select {
	case l := <-f.lines:
		t.Fatalf("unexpected line %q", l)
	default:
	}
}

func appendTo(t *testing.T, f *os.File, s string) {
	t.Helper()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

func TestFollowAcrossRotationAndTruncation(t *testing.T) {
	dir := t.TempDir()
	live := filepath.Join(dir, "service.log")
	w, err := os.OpenFile(live, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	appendTo(t, w, "old1\nold2\n")

	f := follow(t, []Source{{Name: "svc", Path: live}}, Options{Tail: 1})
	f.expect(t, "svc:old2")

	appendTo(t, w, "new1\npar")
	f.expect(t, "svc:new1")
	appendTo(t, w, "tial\n")
	f.expect(t, "svc:partial")

	// Rotation as a RotatingFileHandler does it: rename, then a new file.
	// The writer may still add to the old file between the two.
	if err := os.Rename(live, live+".1"); err != nil {
		t.Fatal(err)
	}
	appendTo(t, w, "late line of the old file\n")
	w2, err := os.OpenFile(live, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Close()
	appendTo(t, w2, "first line of the new file, long enough to be truncated later\n")
	f.expect(t, "svc:late line of the old file", "svc:first line of the new file, long enough to be truncated later")

	// Truncation in place (copytruncate).
	if err := w2.Truncate(0); err != nil {
		t.Fatal(err)
	}
	appendTo(t, w2, "after truncate\n")
	f.expect(t, "svc:after truncate")
	f.stop(t)
}

func TestFollowWaitsForTheFile(t *testing.T) {
	live := filepath.Join(t.TempDir(), "service.log")
	f := follow(t, []Source{{Name: "svc", Path: live}}, Options{Tail: -1})
	write(t, live, "hello\n", time.Time{})
	f.expect(t, "svc:hello")
	f.stop(t)
}

func TestFollowInterleavesFilesAndReaders(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.log")
	write(t, a, "a-history\n", time.Time{})
	pr, pw := io.Pipe()
	f := follow(t, []Source{{Name: "a", Path: a}, {Name: "c", Reader: pr}}, Options{Tail: -1})
	f.expect(t, "a:a-history")
	fmt.Fprintln(pw, "c1")
	f.expect(t, "c:c1")
	wa, err := os.OpenFile(a, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer wa.Close()
	appendTo(t, wa, "a1\n")
	f.expect(t, "a:a1")
	fmt.Fprintln(pw, "c2")
	f.expect(t, "c:c2")
	// Cancel closes the reader, as the daemon's log stream is closed.
	f.stop(t)
	if _, err := pw.Write([]byte("x\n")); !errors.Is(err, io.ErrClosedPipe) {
		t.Errorf("write after stop = %v, want the reader closed", err)
	}
}

func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2025-03-18T15:45:27Z x", "2025-03-18 15:45:27,123 INFO", "2025-03-18 15:45:27", "", "2025-03-18T", "0000-00-00 00:00:00,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		got, ok := ParseTime(line)
		if !ok && !got.IsZero() {
			t.Fatalf("ParseTime(%q) = %v, false: a refused line must give the zero time", line, got)
		}
		if ok && len(line) < 19 {
			t.Fatalf("ParseTime(%q) accepted a line shorter than a timestamp", line)
		}
	})
}

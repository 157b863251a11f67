package images

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/patternmatcher"
)

// truth is the context's digest with no cache at all, as every scan
// computed it before sums were cached.
func truth(t *testing.T, dir string) string {
	t.Helper()
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	bc, err := scanContext(dir, "Dockerfile", map[string]string{"A": "1"})
	if err != nil {
		t.Fatal(err)
	}
	return bc.digest
}

func cached(t *testing.T, dir, cache string) *buildContext {
	t.Helper()
	t.Setenv("XDG_CACHE_HOME", cache)
	bc, err := scanContext(dir, "Dockerfile", map[string]string{"A": "1"})
	if err != nil {
		t.Fatal(err)
	}
	return bc
}

// settle waits until the files' last changes are older than the racy
// margin, so that their sums can be trusted.
func settle(t *testing.T, dir string) {
	t.Helper()
	var latest int64
	filepath.Walk(dir, func(_ string, info os.FileInfo, _ error) error {
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			latest = max(latest, st.Ctim.Nano(), st.Mtim.Nano())
		}
		return nil
	})
	for time.Now().UnixNano()-latest <= int64(racyMargin)+int64(10*time.Millisecond) {
		time.Sleep(5 * time.Millisecond)
	}
}

// An unchanged context is checked with stat alone, and every change is
// seen: the cached digest is always the digest computed without a cache.
func TestContextSumCache(t *testing.T) {
	dir, cache := t.TempDir(), t.TempDir()
	write := func(name, data string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("Dockerfile", "FROM scratch\nCOPY . /\n")
	write("a.txt", "aaaa")
	write("b.txt", "bbbb")
	settle(t, dir)
	if bc := cached(t, dir, cache); bc.hashed != 3 || bc.digest != truth(t, dir) {
		t.Fatalf("first scan hashed %d files (want 3), digest %s (want %s)", bc.hashed, bc.digest, truth(t, dir))
	}
	if bc := cached(t, dir, cache); bc.hashed != 0 || bc.digest != truth(t, dir) {
		t.Fatalf("scan of an unchanged context hashed %d files, digest %s", bc.hashed, bc.digest)
	}

	changes := []struct {
		name   string
		change func()
	}{
		{"same size, mtime put back", func() {
			fi, _ := os.Stat(filepath.Join(dir, "a.txt"))
			write("a.txt", "AAAA")
			os.Chtimes(filepath.Join(dir, "a.txt"), fi.ModTime(), fi.ModTime())
		}},
		{"replaced by rename, same size and mtime", func() {
			fi, _ := os.Stat(filepath.Join(dir, "b.txt"))
			write(".new", "BBBB")
			os.Chtimes(filepath.Join(dir, ".new"), fi.ModTime(), fi.ModTime())
			os.Rename(filepath.Join(dir, ".new"), filepath.Join(dir, "b.txt"))
		}},
		{"mode", func() { os.Chmod(filepath.Join(dir, "a.txt"), 0o600) }},
		{"new file", func() { write("c.txt", "cccc") }},
		{"removed file", func() { os.Remove(filepath.Join(dir, "c.txt")) }},
		{"renamed, same content", func() { os.Rename(filepath.Join(dir, "b.txt"), filepath.Join(dir, "0.txt")) }},
		{"new file in a new directory", func() {
			os.Mkdir(filepath.Join(dir, "sub"), 0o755)
			write("sub/d.txt", "dddd")
		}},
		{"directory renamed", func() { os.Rename(filepath.Join(dir, "sub"), filepath.Join(dir, "zub")) }},
		{"file first in the walk removed", func() { os.Remove(filepath.Join(dir, "0.txt")) }},
		{"cache cut short", func() {
			files, _ := filepath.Glob(filepath.Join(cache, "berth", "context-sums", "*"))
			for _, f := range files {
				data, _ := os.ReadFile(f)
				os.WriteFile(f, data[:len(data)-40], 0o600)
			}
		}},
		{"cache garbled", func() {
			files, _ := filepath.Glob(filepath.Join(cache, "berth", "context-sums", "*"))
			for _, f := range files {
				os.WriteFile(f, []byte("{not json"), 0o600)
			}
		}},
	}
	for _, c := range changes {
		before := cached(t, dir, cache).digest
		c.change()
		want := truth(t, dir)
		if bc := cached(t, dir, cache); bc.digest != want {
			t.Fatalf("%s: cached digest %s, without a cache %s", c.name, bc.digest, want)
		}
		if !strings.HasPrefix(c.name, "cache") && c.name != "removed file" && want == before {
			t.Fatalf("%s: the change did not change the digest; the test proves nothing", c.name)
		}
		// A change made right after a scan, in the same clock tick, leaves
		// the file's stat as the scan saw it; such sums are never trusted.
		if bc := cached(t, dir, cache); bc.digest != want {
			t.Fatalf("%s: second scan %s, want %s", c.name, bc.digest, want)
		}
		settle(t, dir)
	}
}

// A sum taken within the racy margin of the file's last change is not
// trusted, even when the stat matches: the file may have changed again
// within the same timestamp tick.
func TestRacySumIsNotTrusted(t *testing.T) {
	now := time.Now().UnixNano() + 123 // not a whole second
	e := sumEntry{Size: 4, Mode: 0o644, Mtime: now, Ctime: now, Ino: 7, Dev: 1, Sum: [32]byte{'x'}}
	for _, tc := range []struct {
		at   int64
		want bool
	}{
		{now, false},
		{now + int64(racyMargin), false},
		{now + int64(racyMargin) + 1, true},
	} {
		e.At = tc.at
		if got := e.trusted(e); got != tc.want {
			t.Errorf("sum taken %v after the change: trusted = %v, want %v", time.Duration(tc.at-now), got, tc.want)
		}
	}
	coarse := time.Now().Truncate(time.Second).UnixNano()
	e = sumEntry{Size: 4, Mtime: coarse, Ctime: coarse, At: coarse + int64(time.Second), Sum: [32]byte{'x'}}
	if e.trusted(e) {
		t.Error("on a file system with whole-second timestamps, a sum taken 1 s after the change is trusted")
	}
	moved := e
	moved.Ino++
	e.At = coarse + int64(3*time.Second)
	if !e.trusted(e) || e.trusted(moved) {
		t.Error("a settled sum must be trusted for the same stat and only for it")
	}
}

// A context reached through a symlink (an install root or release that is
// a link) is the directory it points to: a change there is seen. The walk
// did not follow the link, so such a context hashed no file at all.
func TestContextThroughSymlink(t *testing.T) {
	real, cache := t.TempDir(), t.TempDir()
	link := filepath.Join(t.TempDir(), "ctx")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(real, "Dockerfile"), []byte("FROM scratch\nCOPY . /\n"), 0o644)
	os.WriteFile(filepath.Join(real, "a.txt"), []byte("aaaa"), 0o644)
	before := cached(t, link, cache).digest
	if want := truth(t, real); before != want {
		t.Errorf("through the link %s, the directory itself %s", before, want)
	}
	os.WriteFile(filepath.Join(real, "a.txt"), []byte("AAAA"), 0o644)
	if after := cached(t, link, cache).digest; after == before {
		t.Fatal("a changed file of a context reached through a symlink left the digest as it was")
	}
}

// An unchanged context neither hashes a file nor writes the cache again.
func TestUnchangedScanWritesNoCache(t *testing.T) {
	dir, cache := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\n"), 0o644)
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	for _, n := range []string{"b", "a", "sub/c", "sub/a"} {
		os.WriteFile(filepath.Join(dir, n), []byte(n), 0o644)
	}
	settle(t, dir)
	cached(t, dir, cache)
	files, _ := filepath.Glob(filepath.Join(cache, "berth", "context-sums", "*"))
	if len(files) != 1 {
		t.Fatalf("cache files %v, want one", files)
	}
	old := time.Now().Add(-time.Hour)
	os.Chtimes(files[0], old, old)
	if bc := cached(t, dir, cache); bc.hashed != 0 || bc.digest != truth(t, dir) {
		t.Fatalf("unchanged context: hashed %d, digest %s", bc.hashed, bc.digest)
	}
	if fi, err := os.Stat(files[0]); err != nil || !fi.ModTime().Equal(old) {
		t.Fatalf("the cache of an unchanged context was written again (%v)", err)
	}
}

// The sum cache is read through a mapping: a cache file cut short under a
// scan (not berth's way: it replaces the file by rename) is a fault on
// reading past its new end, which becomes errCacheFault and a scan without
// the cache, not a crash.
func TestSumCacheCutUnderTheScan(t *testing.T) {
	dir, cache := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\n"), 0o644)
	for i := range 2000 {
		os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%04d", i)), []byte{byte(i)}, 0o644)
	}
	settle(t, dir)
	want := cached(t, dir, cache).digest
	t.Setenv("XDG_CACHE_HOME", cache)
	c := openSumCache(dir)
	if len(c.mapped) < 3*4096 {
		t.Fatalf("cache mapped %d bytes, want a few pages", len(c.mapped))
	}
	if err := os.Truncate(c.path, 0); err != nil {
		t.Fatal(err)
	}
	pm, _ := patternmatcher.New([]string{"!Dockerfile", "!.dockerignore"})
	if _, err := hashInputs([]byte("x"), dir, pm, c); !errors.Is(err, errCacheFault) {
		t.Fatalf("scan over a cache cut short: %v, want errCacheFault", err)
	}
	if got := cached(t, dir, cache).digest; got != want {
		t.Fatalf("after the fault: digest %s, want %s", got, want)
	}
}

// BenchmarkScanUnchanged: an up-to-date context of BERTH_BENCH_CONTEXT (or
// 1,000 small files) scanned again, sums from the cache.
func BenchmarkScanUnchanged(b *testing.B) {
	dir := os.Getenv("BERTH_BENCH_CONTEXT")
	if dir == "" {
		dir = b.TempDir()
		os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\n"), 0o644)
		for i := range 1000 {
			os.WriteFile(filepath.Join(dir, fmt.Sprintf("file%04d", i)), []byte{byte(i)}, 0o644)
		}
		time.Sleep(racyMargin + 10*time.Millisecond)
	}
	b.Setenv("XDG_CACHE_HOME", b.TempDir())
	if _, err := scanContext(dir, "Dockerfile", nil); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if bc, err := scanContext(dir, "Dockerfile", nil); err != nil || bc.hashed != 0 {
			b.Fatal(bc, err)
		}
	}
}

package metadata

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// roundTrip encodes m as the cache does and decodes it again.
func roundTrip(t *testing.T, m *Manifest, lines entityLines) (*Manifest, entityLines) {
	t.Helper()
	w := &binWriter{}
	if err := w.value(reflect.ValueOf(lines)); err != nil {
		t.Fatal(err)
	}
	if err := w.value(reflect.ValueOf(m).Elem()); err != nil {
		t.Fatal(err)
	}
	r := &binReader{s: string(w.buf)}
	var gotLines entityLines
	got := &Manifest{}
	r.value(reflect.ValueOf(&gotLines).Elem())
	r.value(reflect.ValueOf(got).Elem())
	if r.err != nil || r.s != "" {
		t.Fatalf("decode: %v, %d bytes left", r.err, len(r.s))
	}
	if _, err := got.finish(gotLines, &ManifestError{Path: m.Path}); err != nil {
		t.Fatalf("the decoded manifest does not validate: %v", err)
	}
	return got, gotLines
}

// sameAfterCache fails unless the manifest in data comes back from the
// cache's encoding equal in every field, its graph included.
func sameAfterCache(t *testing.T, data []byte) {
	t.Helper()
	var lines entityLines
	m, err := parseManifest("berth.yaml", data, true, &lines)
	if err != nil {
		return
	}
	got, gotLines := roundTrip(t, m, lines)
	if !reflect.DeepEqual(got, m) || !reflect.DeepEqual(gotLines, lines) {
		t.Fatalf("manifest changed through the cache's encoding:\n%s\nparsed:  %+v\ndecoded: %+v", data, m, got)
	}
}

func TestManifestCacheEncodingKeepsEveryField(t *testing.T) {
	cases := append([]string{goodManifest, swarmManifest}, strictCases...)
	for _, tmpl := range Templates() {
		raw, err := templatesFS.ReadFile("templates/" + tmpl + "/" + ManifestFile)
		if err != nil {
			t.Fatal(err)
		}
		text, err := render(ManifestFile, raw, templateData{Name: "e", Root: "/r", InstallRoot: "/i", Template: tmpl})
		if err != nil {
			t.Fatal(err)
		}
		cases = append(cases, string(text))
	}
	for _, c := range cases {
		sameAfterCache(t, []byte(c))
	}
}

func FuzzManifestCacheEncoding(f *testing.F) {
	f.Add([]byte(goodManifest))
	f.Add([]byte(swarmManifest))
	f.Fuzz(func(t *testing.T, data []byte) { sameAfterCache(t, data) })
}

// A cache file of any bytes is read without a panic: as a manifest, or
// refused.
func FuzzManifestCacheDecode(f *testing.F) {
	w := &binWriter{}
	m, _ := ParseManifest("berth.yaml", []byte(goodManifest))
	w.value(reflect.ValueOf(m).Elem())
	f.Add(w.buf)
	f.Add([]byte{5, 0, 3, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := &binReader{s: string(data)}
		r.value(reflect.ValueOf(&Manifest{}).Elem())
	})
}

// cacheEnv is a manifest and its state directory, with a zero racy window
// so that a manifest written by the test is kept at once.
func cacheEnv(t *testing.T, manifest string) (path, cache string) {
	t.Helper()
	old := racyWindow
	racyWindow = 0
	t.Cleanup(func() { racyWindow = old })
	root := t.TempDir()
	path = filepath.Join(root, ManifestFile)
	if err := os.WriteFile(path, []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(root, StateDirName), 0o755); err != nil {
		t.Fatal(err)
	}
	return path, filepath.Join(root, StateDirName, ManifestCacheFile)
}

func loadCached(t *testing.T, path, cache string) *Manifest {
	t.Helper()
	m, err := loadManifestCached(path, cache)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestManifestCacheIsUsedWhileTheFileIsUnchanged(t *testing.T) {
	path, cache := cacheEnv(t, goodManifest)
	parsed := loadCached(t, path, cache)
	if _, err := os.Stat(cache); err != nil {
		t.Fatalf("no cache written: %v", err)
	}
	// What the cache holds is what a read uses: mark it, and the mark
	// comes back.
	st := statOf(t, path)
	m, lines, ok := readManifestCache(cache, executableKey(), st)
	if !ok {
		t.Fatal("the cache just written is not read")
	}
	m.Description = "from the cache"
	writeManifestCache(cache, executableKey(), st, lines, m)
	if got := loadCached(t, path, cache); got.Description != "from the cache" {
		t.Fatalf("description %q: the cache was not used", got.Description)
	}
	m.Description = parsed.Description
	m.finish(lines, &ManifestError{})
	if !reflect.DeepEqual(m, parsed) {
		t.Fatal("the cached manifest is not the parsed one")
	}
}

func statOf(t *testing.T, path string) cacheFileKey {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	return fileKeyOf(&st)
}

// A change that keeps the size and puts the modification time back is
// still seen: its ctime moved.
func TestManifestCacheSeesAChangeOfSameSizeAndMtime(t *testing.T) {
	path, cache := cacheEnv(t, goodManifest)
	fi, _ := os.Stat(path)
	loadCached(t, path, cache)
	changed := strings.Replace(goodManifest, "[worker]", "[wörker]", 1)
	changed = strings.Replace(changed, "--serve", "-serve", 1)
	if len(changed) != len(goodManifest) || changed == goodManifest {
		t.Fatal("the test's change must keep the size")
	}
	time.Sleep(20 * time.Millisecond) // past the coarse clock's tick
	if err := os.WriteFile(path, []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	m := loadCached(t, path, cache)
	if got := m.Services["worker"].Command; got[0] != "wörker" {
		t.Fatalf("command %q: the cache of the old file was used", got)
	}
}

func TestManifestCacheNotKeptWhenRacy(t *testing.T) {
	path, cache := cacheEnv(t, goodManifest)
	racyWindow = time.Hour // the file was written just now
	loadCached(t, path, cache)
	if _, err := os.Stat(cache); !os.IsNotExist(err) {
		t.Fatalf("a manifest changed within the racy window was cached: %v", err)
	}
}

func TestManifestCacheOfAnotherBuildOrCorruptIsParsedAgain(t *testing.T) {
	path, cache := cacheEnv(t, goodManifest)
	want := loadCached(t, path, cache)
	key := statOf(t, path)
	m, lines, _ := readManifestCache(cache, executableKey(), key)
	m.Description = "another build's"
	other := executableKey()
	other.ino++
	writeManifestCache(cache, other, key, lines, m)
	if got := loadCached(t, path, cache); got.Description != want.Description {
		t.Fatal("a cache written by another executable was used")
	}
	data, _ := os.ReadFile(cache)
	for _, bad := range [][]byte{data[:len(data)/2], append(data[:len(data):len(data)], 0), []byte("garbage")} {
		if err := os.WriteFile(cache, bad, 0o644); err != nil {
			t.Fatal(err)
		}
		if got := loadCached(t, path, cache); !reflect.DeepEqual(got, want) {
			t.Fatalf("after a corrupt cache (%d bytes): not the parsed manifest", len(bad))
		}
	}
}

func TestManifestCacheKeepsOnlyValidManifests(t *testing.T) {
	bad := "version: 1\nservices:\n  a: {command: [x], depends_on: [nope]}\n"
	path, cache := cacheEnv(t, bad)
	_, err1 := loadManifestCached(path, cache)
	_, err2 := ParseManifest(path, []byte(bad))
	if err1 == nil || err1.Error() != err2.Error() {
		t.Fatalf("errors %v and %v", err1, err2)
	}
	if _, err := os.Stat(cache); !os.IsNotExist(err) {
		t.Fatal("an invalid manifest was cached")
	}
	// No state directory: nothing is made for the cache.
	os.Remove(filepath.Dir(cache))
	os.WriteFile(path, []byte(goodManifest), 0o644)
	loadCached(t, path, cache)
	if _, err := os.Stat(filepath.Dir(cache)); !os.IsNotExist(err) {
		t.Fatal("the state directory was made for the cache")
	}
}

// The cache is readable by whom the manifest is: it holds its env values.
func TestManifestCacheTakesTheManifestsPermissions(t *testing.T) {
	path, cache := cacheEnv(t, goodManifest)
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	loadCached(t, path, cache)
	fi, err := os.Stat(cache)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("cache mode %v, manifest 0600", fi.Mode().Perm())
	}
}

// manifestOf100 is a manifest of 100 services shaped as bench-floor.sh's.
func manifestOf100() string {
	var b strings.Builder
	b.WriteString("version: 1\nservices:\n")
	for i := 1; i <= 100; i++ {
		fmt.Fprintf(&b, "  s%03d:\n    command: [/usr/bin/testsvc, --tcp, \"127.0.0.1:%d\"]\n", i, 24000+i)
	}
	return b.String()
}

// The manifest of 100 services parsed from its YAML, beside the same read
// through the cache (go test -bench LoadManifest ./metadata).
func BenchmarkLoadManifest(b *testing.B) {
	for _, tc := range []struct {
		name   string
		cached bool
	}{{"parse", false}, {"cached", true}} {
		b.Run(tc.name, func(b *testing.B) {
			old := racyWindow
			racyWindow = 0
			defer func() { racyWindow = old }()
			root := b.TempDir()
			path := filepath.Join(root, ManifestFile)
			os.WriteFile(path, []byte(manifestOf100()), 0o644)
			cache := filepath.Join(root, StateDirName, ManifestCacheFile)
			if tc.cached {
				os.Mkdir(filepath.Dir(cache), 0o755)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := loadManifestCached(path, cache); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

package images

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/moby/patternmatcher"
)

// hashContextFilesFmt is hashContextFiles as it was, with fmt and
// filepath.Rel: the lines of the inputs' hash must stay byte for byte the
// same, or every image built before would read as stale.
func hashContextFilesFmt(h io.Writer, dir string, pm *patternmatcher.PatternMatcher) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		skip, err := pm.MatchesOrParentMatches(rel)
		if err != nil {
			return err
		}
		if skip {
			if d.IsDir() && !pm.Exclusions() {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			fmt.Fprintf(h, "dir %q %o\n", rel, info.Mode().Perm())
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			fmt.Fprintf(h, "link %q %q\n", rel, target)
		case info.Mode().IsRegular():
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			sum := fmt.Sprintf("%x", sha256.Sum256(data))
			fmt.Fprintf(h, "file %q %o %s\n", rel, info.Mode().Perm(), sum)
		default:
			fmt.Fprintf(h, "special %q %s\n", rel, info.Mode().Type())
		}
		return nil
	})
}

// TestContextLinesUnchanged: the inputs' lines of a context with awkward
// names, modes, a symlink, a FIFO and an excluded directory are those fmt
// wrote, for the context given as a clean path and as an unclean one.
func TestContextLinesUnchanged(t *testing.T) {
	dir := t.TempDir()
	names := []string{"plain", "with space", `quo"te`, "back\\slash", "tab\tname", "new\nline", "ünïcödé", "bad\xffutf8", "emoji 🚢", "sub/inner", "sub/deeper/x", "skip/me"}
	for _, n := range names {
		p := filepath.Join(dir, n)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(n), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(filepath.Join(dir, "sub"), 0o750)
	os.Chmod(filepath.Join(dir, "plain"), 0o4755)
	if err := os.Symlink("target \"x\"\n", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	pm, err := patternmatcher.New([]string{"skip"})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{dir, dir + "/", dir + "/./sub/.."} {
		var want, got bytes.Buffer
		if err := hashContextFilesFmt(&want, d, pm); err != nil {
			t.Fatal(err)
		}
		if err := hashContextFiles(&got, d, pm, &sumCache{}); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("%s: lines\n%q\nwere\n%q", d, got.String(), want.String())
		}
		if bytes.Count(got.Bytes(), []byte("\n")) < len(names) {
			t.Errorf("%s: only\n%s", d, got.String())
		}
	}
}

// inputLine's shortcut for plain names writes what %q writes, for every
// byte alone and in a name.
func TestInputLineQuotesAsFmt(t *testing.T) {
	names := []string{"", "plain", "with space", "a~b", "x\x7f", "é", "\xff", "a\"b", `a\b`, "tab\t", "🚢"}
	for c := 0; c < 256; c++ {
		names = append(names, string([]byte{byte(c)}), "n"+string([]byte{byte(c)})+"m")
	}
	for _, n := range names {
		if got, want := string(inputLine(nil, "file ", n)), fmt.Sprintf("file %q", n); got != want {
			t.Errorf("%q: %s, fmt %s", n, got, want)
		}
	}
}

// With "!" patterns alone (no .dockerignore) the matcher is not asked: it
// can match nothing, since an exclusion only undoes an earlier match.
func TestOnlyExclusionsMatchNothing(t *testing.T) {
	pm, err := patternmatcher.New([]string{"!Dockerfile", "!.dockerignore", "!sub/*", "!**"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"Dockerfile", "a", "sub", "sub/x", "deep/er/x", ".dockerignore"} {
		if skip, err := pm.MatchesOrParentMatches(p); skip || err != nil {
			t.Fatalf("%s: matched %v, %v", p, skip, err)
		}
	}
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"Dockerfile": "FROM scratch\n", "sub/x": "x", "a": "a"})
	var lines bytes.Buffer
	if err := hashContextFiles(&lines, dir, pm, &sumCache{}); err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(lines.Bytes(), []byte("\n")); n != 4 {
		t.Errorf("%d lines, want 4 (Dockerfile, a, sub, sub/x):\n%s", n, lines.String())
	}
}

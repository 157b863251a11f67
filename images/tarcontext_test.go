package images

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	archive "github.com/moby/go-archive"
	"github.com/moby/go-archive/compression"
	"golang.org/x/sys/unix"
)

// TestContextTarMatchesGoArchive holds tarContext to what go-archive's
// TarWithOptions (what berth used before, and what the docker CLI uses)
// writes for the same context: the same bytes, entry for entry.
func TestContextTarMatchesGoArchive(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, text string, mode os.FileMode) {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(p, mode)
	}
	write("Dockerfile", "FROM scratch\nCOPY . /\n", 0o644)
	write(".dockerignore", "**/*.log\nbuild\n!build/keep.txt\nDockerfile\nsecret/\n", 0o600)
	write("app/main.go", "package main\n", 0o644)
	write("app/run.sh", "#!/bin/sh\n", 0o755)
	write("app/empty", "", 0o640)
	write("app/debug.log", "left out", 0o644)
	write("build/out.bin", "left out", 0o644)
	write("build/keep.txt", "brought back", 0o644)
	write("secret/key", "left out", 0o600)
	write(strings.Repeat("long-name-", 12)+"/"+strings.Repeat("x", 120), "pax names", 0o644)
	write("naïve/ünïcode.txt", "utf-8 name", 0o644)
	must(t, os.Symlink("main.go", filepath.Join(dir, "app/link")))
	must(t, os.Symlink("/nowhere", filepath.Join(dir, "app/dangling")))
	must(t, os.Link(filepath.Join(dir, "app/main.go"), filepath.Join(dir, "app/hardlink.go")))
	must(t, syscall.Mkfifo(filepath.Join(dir, "app/fifo"), 0o644))
	if l, err := net.Listen("unix", filepath.Join(dir, "app/sock")); err == nil {
		defer l.Close()
	}
	// security.capability, revision 2 (CAP_NET_BIND_SERVICE); root only.
	capv2 := []byte{0, 0, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	if err := unix.Lsetxattr(filepath.Join(dir, "app/run.sh"), "security.capability", capv2, 0); err != nil {
		t.Logf("no file capability on this machine (%v): that part is not compared", err)
	}
	odd := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)
	must(t, os.Chtimes(filepath.Join(dir, "app/main.go"), odd, odd))

	bc, _, err := readContextRules(dir, "Dockerfile")
	must(t, err)
	rc, err := tarContext(dir, bc.excludes)
	must(t, err)
	got, err := io.ReadAll(rc)
	must(t, err)
	ref, err := archive.TarWithOptions(dir, &archive.TarOptions{
		ExcludePatterns: bc.excludes, Compression: compression.None,
		ChownOpts: &archive.ChownOpts{UID: 0, GID: 0},
	})
	must(t, err)
	want, err := io.ReadAll(ref)
	must(t, err)
	if !bytes.Equal(got, want) {
		t.Fatalf("the context tars differ:\nberth:      %v\ngo-archive: %v", tarNames(t, got), tarNames(t, want))
	}
	names := strings.Join(tarNames(t, got), " ")
	for _, w := range []string{"Dockerfile", ".dockerignore", "build/keep.txt", "app/hardlink.go", "app/fifo", "app/link"} {
		if !strings.Contains(names, w) {
			t.Errorf("%s is missing from %s", w, names)
		}
	}
	for _, w := range []string{"debug.log", "out.bin", "secret", "sock"} {
		if strings.Contains(names, w) {
			t.Errorf("%s is in %s", w, names)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func tarNames(t *testing.T, b []byte) []string {
	t.Helper()
	var names []string
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err != nil {
			if err != io.EOF {
				names = append(names, "error: "+err.Error())
			}
			return names
		}
		names = append(names, fmt.Sprintf("%s(%c %o %d %q %v)", h.Name, h.Typeflag, h.Mode, h.Size, h.Linkname, h.PAXRecords))
	}
}

package main

import (
	"debug/elf"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

// TestElfDepsAgreesWithDebugElf: the demo's own ELF reader finds the same
// interpreter and libraries as debug/elf, on the machine's executables and
// libraries, a dynamically linked Go program and a static one.
func TestElfDepsAgreesWithDebugElf(t *testing.T) {
	paths := []string{berthBin, testsvcBin}
	for _, p := range []string{"/bin/sh", "/bin/bash", "/usr/bin/env", "/usr/bin/git", "/usr/bin/perl"} {
		if _, err := os.Stat(p); err == nil {
			paths = append(paths, p)
		}
	}
	for _, d := range libDirs() {
		for _, pattern := range []string{"libc.so.*", "libm.so.*", "libpthread.so.*", "ld-linux*.so.*", "libz.so.*", "libstdc++.so.*"} {
			m, _ := filepath.Glob(filepath.Join(d, pattern))
			paths = append(paths, m...)
		}
	}
	if cc, err := exec.LookPath("gcc"); err == nil {
		// A Go program with cgo is dynamically linked.
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nimport \"C\"\n\nfunc main() {}\n"), 0o644)
		os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module cgohello\n"), 0o644)
		cmd := exec.Command("go", "build", "-o", "cgohello", ".")
		cmd.Dir, cmd.Env = dir, append(os.Environ(), "CGO_ENABLED=1", "CC="+cc)
		if out, err := cmd.CombinedOutput(); err == nil {
			paths = append(paths, filepath.Join(dir, "cgohello"))
		} else {
			t.Logf("no cgo program: %v\n%s", err, out)
		}
	}
	withLibs, compared := 0, 0
	for _, p := range paths {
		f, err := elf.Open(p)
		if err != nil {
			continue // a linker script named libc.so.6, say
		}
		var wantInterp string
		for _, prog := range f.Progs {
			if prog.Type == elf.PT_INTERP {
				b, _ := io.ReadAll(prog.Open())
				if len(b) > 0 {
					wantInterp = string(b[:len(b)-1])
				}
			}
		}
		wantLibs, err := f.ImportedLibraries()
		f.Close()
		if err != nil {
			t.Fatalf("%s: debug/elf: %v", p, err)
		}
		interp, libs, err := elfDeps(p)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		if interp != wantInterp || !slices.Equal(libs, wantLibs) {
			t.Errorf("%s: interpreter %q, libraries %q; debug/elf: %q, %q", p, interp, libs, wantInterp, wantLibs)
		}
		compared++
		if len(libs) > 0 {
			withLibs++
		}
	}
	t.Logf("compared %d files, %d of them naming libraries", compared, withLibs)
	if withLibs < 2 {
		t.Fatalf("only %d of %v name libraries", withLibs, paths)
	}
	if _, _, err := elfDeps("/etc/hostname"); err == nil {
		t.Error("a text file read as ELF")
	}
}

package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	goruntime "runtime"
)

// copyRootfs puts the running berth executable at DIR/berth, for the demo's
// FROM scratch image. A berth built with cgo (the default where a C compiler
// is found, as with `go run`) is dynamically linked, so its ELF interpreter
// and the shared libraries it names are copied too, each to the path where
// the host keeps it, which is where the loader looks inside the image. It
// returns the paths written, relative to dir.
func copyRootfs(dir string) ([]string, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find the berth executable: %w", err)
	}
	if exe, err = filepath.EvalSymlinks(exe); err != nil {
		return nil, fmt.Errorf("find the berth executable: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	written := []string{"berth"}
	if err := copyFile(exe, filepath.Join(dir, "berth"), 0o755); err != nil {
		return nil, err
	}
	deps, err := sharedDeps(exe)
	if err != nil {
		return nil, err
	}
	for _, p := range deps {
		if err := copyFile(p, filepath.Join(dir, p), 0o755); err != nil {
			return nil, err
		}
		written = append(written, p[1:])
	}
	return written, nil
}

// libDirs are where a Linux loader finds libraries by default.
func libDirs() []string {
	triplet := map[string]string{"amd64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu"}[goruntime.GOARCH]
	var dirs []string
	if triplet != "" {
		dirs = append(dirs, "/lib/"+triplet, "/usr/lib/"+triplet)
	}
	return append(dirs, "/lib64", "/usr/lib64", "/lib", "/usr/lib")
}

// sharedDeps returns the interpreter and every library that path needs,
// directly or through another library; none for a static executable.
func sharedDeps(path string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	queue := []string{path}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		interp, libs, err := elfDeps(cur)
		if err != nil {
			return nil, fmt.Errorf("read the libraries %s needs: %w", cur, err)
		}
		var found []string
		if interp != "" {
			found = append(found, interp)
		}
		for _, lib := range libs {
			p, ok := findLib(lib)
			if !ok {
				return nil, fmt.Errorf("%s needs %s, which is in none of %v: build berth with CGO_ENABLED=0 for a static binary", cur, lib, libDirs())
			}
			found = append(found, p)
		}
		for _, p := range found {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
				queue = append(queue, p)
			}
		}
	}
	return out, nil
}

func findLib(name string) (string, bool) {
	for _, d := range libDirs() {
		p := filepath.Join(d, name)
		if _, err := os.Stat(p); err == nil {
			return p, true
		}
	}
	return "", false
}

// copyFile copies src's contents (following symlinks) to dst, whole or not at all.
func copyFile(src, dst string, perm os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".tmp-"+filepath.Base(dst))
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, in); err != nil {
		tmp.Close()
		return fmt.Errorf("copy %s: %w", src, err)
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}

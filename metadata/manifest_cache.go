package metadata

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The manifest cache: every berth command reads berth.yaml, and for 100
// services its YAML parse took 1.2 ms, the largest part of a `status`.
// An environment's manifest, once parsed and found valid, is kept in
// .berth/manifest.cache in the binary form of bincodec.go, and used again
// while berth.yaml is the same file with the same size and times (device,
// inode, size, mtime, ctime, as git's index decides) and berth is the
// same executable. A manifest changed within racyWindow of its parse is
// not kept: file times come from a coarse clock, and a second change in
// the same tick would leave them as they were. A cache that cannot be
// read, or was written for another file or build, is ignored and
// replaced; one that cannot be written is not an error. The manifest read
// from the cache is validated again as a parsed one is.

// ManifestCacheFile is the cache's name in the environment's StateDirName.
const ManifestCacheFile = "manifest.cache"

const manifestCacheMagic = "berth manifest cache 1\n"

// racyWindow is longer than the kernel's coarse clock tick (at most 10
// ms) with room for a slow write.
var racyWindow = time.Second

type cacheFileKey struct {
	dev, ino, size uint64
	mtime, ctime   int64
	// mode is the file's permission bits, which the cache of a manifest
	// takes: it holds all the manifest says.
	mode uint32
}

func fileKeyOf(st *unix.Stat_t) cacheFileKey {
	return cacheFileKey{dev: st.Dev, ino: st.Ino, size: uint64(st.Size), mtime: st.Mtim.Nano(), ctime: st.Ctim.Nano(), mode: st.Mode & 0o777}
}

// executableKey names the running build: a cache written by another
// build of berth is not read, whatever its types were.
var executableKey = sync.OnceValue(func() cacheFileKey {
	var st unix.Stat_t
	if exe, err := os.Executable(); err != nil || unix.Stat(exe, &st) != nil {
		return cacheFileKey{}
	}
	return fileKeyOf(&st)
})

func (k cacheFileKey) write(w *binWriter) {
	for _, u := range []uint64{k.dev, k.ino, k.size, uint64(k.mtime), uint64(k.ctime), uint64(k.mode)} {
		w.uvarint(u)
	}
}

func (k *cacheFileKey) read(r *binReader) {
	k.dev, k.ino, k.size = r.uvarint(), r.uvarint(), r.uvarint()
	k.mtime, k.ctime, k.mode = int64(r.uvarint()), int64(r.uvarint()), uint32(r.uvarint())
}

// loadManifestCached reads the manifest at path as LoadManifest does,
// through the cache file at cache.
func loadManifestCached(path, cache string) (*Manifest, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	key := fileKeyOf(&st)
	exe := executableKey()
	if m, lines, ok := readManifestCache(cache, exe, key); ok {
		m.Path = path
		return m.finish(lines, &ManifestError{Path: path})
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	var lines entityLines
	m, err := parseManifest(path, data, true, &lines)
	if err != nil || lines == nil || exe == (cacheFileKey{}) {
		return m, err
	}
	// Kept only if the file did not change while it was read, nor within
	// racyWindow before.
	if unix.Fstat(int(f.Fd()), &st) == nil && fileKeyOf(&st) == key &&
		time.Since(time.Unix(0, max(key.mtime, key.ctime))) >= racyWindow {
		writeManifestCache(cache, exe, key, lines, m)
	}
	return m, nil
}

func readManifestCache(cache string, exe, key cacheFileKey) (*Manifest, entityLines, bool) {
	data, err := os.ReadFile(cache)
	if err != nil || len(data) < len(manifestCacheMagic) || string(data[:len(manifestCacheMagic)]) != manifestCacheMagic {
		return nil, nil, false
	}
	// The strings of the manifest are slices of the cache's bytes, taken
	// as a string without a copy (10 KB for 100 services): data is not
	// written again, nor kept elsewhere.
	body := data[len(manifestCacheMagic):]
	r := &binReader{s: unsafe.String(unsafe.SliceData(body), len(body))}
	var gotExe, gotKey cacheFileKey
	gotExe.read(r)
	gotKey.read(r)
	if r.err != nil || gotExe != exe || gotKey != key {
		return nil, nil, false
	}
	var lines entityLines
	m := &Manifest{}
	r.value(reflect.ValueOf(&lines).Elem())
	r.value(reflect.ValueOf(m).Elem())
	if r.err != nil || len(r.s) != 0 {
		return nil, nil, false
	}
	return m, lines, true
}

// writeManifestCache replaces the cache, whole or not at all; it does not
// wait for the disk (a cache lost in a crash is parsed again), readable
// by whom the manifest is readable (it holds what the manifest says, its
// env values too). Nothing is written where berth's state directory does
// not exist yet.
func writeManifestCache(cache string, exe, key cacheFileKey, lines entityLines, m *Manifest) {
	if _, err := os.Stat(filepath.Dir(cache)); err != nil {
		return
	}
	w := &binWriter{buf: append(make([]byte, 0, 16<<10), manifestCacheMagic...)}
	exe.write(w)
	key.write(w)
	if w.value(reflect.ValueOf(lines)) != nil || w.value(reflect.ValueOf(m).Elem()) != nil {
		return
	}
	ReplaceFile(cache, w.buf, os.FileMode(key.mode&0o666))
}

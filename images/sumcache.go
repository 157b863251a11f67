package images

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berthdev/berth/internal/rawfile"
	"github.com/berthdev/berth/metadata"
)

// A build context's digest needs every file's sha256, which is most of the
// work of an up-to-date build. As git's index does, berth keeps each file's
// sum with what stat says of it (size, mode, mtime, ctime, inode, device)
// and hashes a file again only when one of those has changed. Any write to
// a file, and any chmod, rename over it or utimes, sets its ctime to the
// current time, which no one can set back; so a file whose stat matches is
// the file that was hashed. The exception is a change in the same clock
// tick as the hashing (the file system's timestamps are coarse): a sum is
// trusted only if it was taken a margin after the file's last mtime and
// ctime ("racily clean" in git's words), else the file is hashed again.
//
// The cache is a file of binary records in the order of the walk, so that
// an unchanged context is checked by reading the records one after the
// other as the walk meets its files: no map, nothing decoded to the heap
// (decoding a JSON cache into a map was most of an up-to-date build's page
// faults). The first file out of that order (added, removed, renamed,
// changed) turns to an index of the records, and the cache is written again.

// sumEntry is one file's cached sum and the stat it was taken under.
type sumEntry struct {
	Size  int64
	Mode  uint32
	Mtime int64 // ns since the epoch
	Ctime int64
	Ino   uint64
	Dev   uint64
	// At is when the sum was taken, ns since the epoch.
	At  int64
	Sum [sha256.Size]byte
}

// racyMargin is how long after a file's last change its sum must have been
// taken to be trusted: far more than a clock tick (at most 10 ms); on a file
// system with whole-second timestamps, coarseMargin.
const (
	racyMargin   = 100 * time.Millisecond
	coarseMargin = 2 * time.Second
)

// sumsMagic starts a cache file; a file that does not start so is ignored
// (an older berth's JSON cache had another name).
const sumsMagic = "berth-context-sums/2\n"

// A record: name length (2 bytes), name, then size, mode, mtime, ctime,
// ino, dev, at and the sum, little-endian.
const recordFixed = 8 + 4 + 8 + 8 + 8 + 8 + 8 + sha256.Size

// sumCache is the cached sums of one context directory, kept in the user's
// cache directory under a name made from the context's absolute path.
type sumCache struct {
	path string
	old  []byte // the records read
	// pos is the next record of old, while every file so far was the
	// record at pos, unchanged; out is nil until then.
	pos   int
	index map[string]int // name to offset in old, once out of order
	out   []byte         // the records of this scan, once out of order
	// hashed counts the files read and hashed by this scan.
	hashed int
	mapped []byte // the cache file, mapped
}

func openSumCache(dir string) *sumCache {
	c := &sumCache{}
	base, err := os.UserCacheDir()
	abs, err2 := filepath.Abs(dir)
	if err != nil || err2 != nil {
		return c // no cache: every file is hashed
	}
	key := sha256.Sum256([]byte(abs))
	c.path = filepath.Join(base, "berth", "context-sums", hex.EncodeToString(key[:16])+".sums")
	if data := c.mapFile(); strings.HasPrefix(string(data), sumsMagic) {
		c.old = data[len(sumsMagic):]
	}
	return c
}

// mapFile maps the cache file: its pages come from the page cache, 16 at a
// fault, where reading it copied them into as many fresh heap pages, each a
// fault of its own.
func (c *sumCache) mapFile() []byte {
	fd, err := rawfile.Open(c.path, unix.O_RDONLY, 0)
	if err != nil {
		return nil
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || st.Size <= int64(len(sumsMagic)) || st.Size > 1<<30 {
		return nil
	}
	data, err := unix.Mmap(fd, 0, int(st.Size), unix.PROT_READ, unix.MAP_PRIVATE)
	if err != nil {
		return nil
	}
	c.mapped = data
	return data
}

// close unmaps the cache file; nothing read from it may be used after.
func (c *sumCache) close() {
	if c.mapped != nil {
		unix.Munmap(c.mapped)
		c.mapped, c.old = nil, nil
	}
}

// record reads the record at off of b: its name, entry and the offset after it.
func record(b []byte, off int) (name []byte, e sumEntry, next int, ok bool) {
	if off < 0 || off+2 > len(b) {
		return nil, e, 0, false
	}
	n := int(binary.LittleEndian.Uint16(b[off:]))
	next = off + 2 + n + recordFixed
	if next > len(b) {
		return nil, e, 0, false
	}
	name, r := b[off+2:off+2+n], b[off+2+n:next]
	le := binary.LittleEndian
	e.Size, e.Mode, e.Mtime = int64(le.Uint64(r)), le.Uint32(r[8:]), int64(le.Uint64(r[12:]))
	e.Ctime, e.Ino, e.Dev, e.At = int64(le.Uint64(r[20:])), le.Uint64(r[28:]), le.Uint64(r[36:]), int64(le.Uint64(r[44:]))
	copy(e.Sum[:], r[52:])
	return name, e, next, true
}

func appendRecord(b []byte, name string, e sumEntry) []byte {
	le := binary.LittleEndian
	b = le.AppendUint16(b, uint16(len(name)))
	b = append(b, name...)
	b = le.AppendUint64(b, uint64(e.Size))
	b = le.AppendUint32(b, e.Mode)
	b = le.AppendUint64(b, uint64(e.Mtime))
	b = le.AppendUint64(b, uint64(e.Ctime))
	b = le.AppendUint64(b, e.Ino)
	b = le.AppendUint64(b, e.Dev)
	b = le.AppendUint64(b, uint64(e.At))
	return append(b, e.Sum[:]...)
}

// trusted says whether e's sum holds for a file whose stat is now.
func (e sumEntry) trusted(now sumEntry) bool {
	if e.Size != now.Size || e.Mode != now.Mode || e.Mtime != now.Mtime ||
		e.Ctime != now.Ctime || e.Ino != now.Ino || e.Dev != now.Dev {
		return false
	}
	margin := racyMargin
	if now.Mtime%int64(time.Second) == 0 && now.Ctime%int64(time.Second) == 0 {
		margin = coarseMargin
	}
	return e.At-max(e.Mtime, e.Ctime) > int64(margin)
}

// sum returns the sha256 of the regular file st of the context; open opens
// it if it must be hashed.
func (c *sumCache) sum(st *dirEnt, open func() (*os.File, error)) ([sha256.Size]byte, error) {
	rel := st.rel
	now := sumEntry{Size: st.size, Mode: st.mode, Mtime: st.mtime, Ctime: st.ctime, Ino: st.ino, Dev: st.dev}
	if c.out == nil {
		if name, e, next, ok := record(c.old, c.pos); ok && string(name) == rel && e.trusted(now) {
			c.pos = next
			return e.Sum, nil
		}
		// Out of order or changed: the records so far stand, the rest is
		// looked up by name.
		c.out = append(make([]byte, 0, len(c.old)+1024), c.old[:c.pos]...)
		c.indexOld()
	}
	if off, found := c.index[rel]; found {
		if _, e, _, ok := record(c.old, off); ok && e.trusted(now) {
			c.out = appendRecord(c.out, rel, e)
			return e.Sum, nil
		}
	}
	now.At = time.Now().UnixNano()
	f, err := open()
	if err != nil {
		return now.Sum, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return now.Sum, err
	}
	h.Sum(now.Sum[:0])
	c.hashed++
	if len(rel) <= 0xffff { // a longer name is hashed every time
		c.out = appendRecord(c.out, rel, now)
	}
	return now.Sum, nil
}

// indexOld maps the names of the records read to their offsets; a record
// cut short ends the index.
func (c *sumCache) indexOld() {
	c.index = map[string]int{}
	for off := 0; ; {
		name, _, next, ok := record(c.old, off)
		if !ok {
			return
		}
		c.index[string(name)] = off
		off = next
	}
}

// save writes the cache back if this scan's records differ from those
// read. A cache that cannot be written only costs the next scan its
// hashing.
func (c *sumCache) save() {
	data := c.out
	if data == nil {
		if c.pos == len(c.old) {
			return // every record read, in order, unchanged
		}
		data = c.old[:c.pos] // files left the context
	}
	if c.path == "" || os.MkdirAll(filepath.Dir(c.path), 0o700) != nil {
		return
	}
	metadata.ReplaceFile(c.path, append([]byte(sumsMagic), data...), 0o600)
	// The JSON cache of an earlier berth is of no more use.
	os.Remove(strings.TrimSuffix(c.path, ".sums") + ".json")
}

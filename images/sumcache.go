package images

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

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

// sumEntry is one file's cached sum and the stat it was taken under.
type sumEntry struct {
	Size  int64  `json:"size"`
	Mode  uint32 `json:"mode"`
	Mtime int64  `json:"mtime"` // ns since the epoch
	Ctime int64  `json:"ctime"`
	Ino   uint64 `json:"ino"`
	Dev   uint64 `json:"dev"`
	// At is when the sum was taken, ns since the epoch.
	At  int64  `json:"at"`
	Sum string `json:"sum"`
}

// racyMargin is how long after a file's last change its sum must have been
// taken to be trusted: far more than a clock tick (at most 10 ms); on a file
// system with whole-second timestamps, coarseMargin.
const (
	racyMargin   = 100 * time.Millisecond
	coarseMargin = 2 * time.Second
)

// sumCache is the cached sums of one context directory, kept in the user's
// cache directory under a name made from the context's absolute path.
type sumCache struct {
	path    string
	mu      sync.Mutex
	entries map[string]sumEntry
	changed bool
	// hashed counts the files read and hashed by this scan.
	hashed int
}

func openSumCache(dir string) *sumCache {
	c := &sumCache{entries: map[string]sumEntry{}}
	base, err := os.UserCacheDir()
	abs, err2 := filepath.Abs(dir)
	if err != nil || err2 != nil {
		return c // no cache: every file is hashed
	}
	key := sha256.Sum256([]byte(abs))
	c.path = filepath.Join(base, "berth", "context-sums", hex.EncodeToString(key[:16])+".json")
	if data, err := os.ReadFile(c.path); err == nil {
		if m, ok := decodeSums(data); ok {
			c.entries = m
		} else if json.Unmarshal(data, &c.entries) != nil {
			c.entries = map[string]sumEntry{} // unreadable: start afresh
		}
	}
	return c
}

func statEntry(info fs.FileInfo) (sumEntry, bool) {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return sumEntry{}, false
	}
	return sumEntry{Size: st.Size, Mode: st.Mode, Mtime: st.Mtim.Nano(), Ctime: st.Ctim.Nano(),
		Ino: st.Ino, Dev: uint64(st.Dev)}, true
}

// trusted says whether e's sum holds for a file whose stat is now.
func (e sumEntry) trusted(now sumEntry) bool {
	if e.Sum == "" || e.Size != now.Size || e.Mode != now.Mode || e.Mtime != now.Mtime ||
		e.Ctime != now.Ctime || e.Ino != now.Ino || e.Dev != now.Dev {
		return false
	}
	margin := racyMargin
	if now.Mtime%int64(time.Second) == 0 && now.Ctime%int64(time.Second) == 0 {
		margin = coarseMargin
	}
	return e.At-max(e.Mtime, e.Ctime) > int64(margin)
}

// sum returns the sha256 of the regular file at path (rel in the context).
func (c *sumCache) sum(path, rel string, info fs.FileInfo) (string, error) {
	now, ok := statEntry(info)
	c.mu.Lock()
	e, found := c.entries[rel]
	c.mu.Unlock()
	if ok && found && e.trusted(now) {
		return e.Sum, nil
	}
	at := time.Now().UnixNano()
	sum, err := fileSum(path)
	if err != nil || !ok {
		return sum, err
	}
	now.At, now.Sum = at, sum
	c.mu.Lock()
	c.entries[rel] = now
	c.changed = true
	c.hashed++
	c.mu.Unlock()
	return sum, nil
}

// save writes the cache back if a sum changed, keeping only the files seen
// by this scan. A cache that cannot be written only costs the next scan
// its hashing.
func (c *sumCache) save(seen map[string]bool) {
	for rel := range c.entries {
		if !seen[rel] {
			delete(c.entries, rel)
			c.changed = true
		}
	}
	if c.path == "" || !c.changed {
		return
	}
	data, err := json.Marshal(c.entries)
	if err != nil || os.MkdirAll(filepath.Dir(c.path), 0o700) != nil {
		return
	}
	metadata.ReplaceFile(c.path, data, 0o600)
}

package supervisor

import (
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berthdev/berth/metadata"
)

// envCache keeps the environment the supervisor last read, for as long as
// the files it was read from are unchanged. Every launch reads the
// restart policy and liveness check of its service; reading a manifest of
// 100 services twice per launch made a start of 100 services cost the
// supervisor 200 parses of it. Unchanged means the same inode, size,
// mtime and ctime, as git's index decides; a file changed within
// racyWindow of the read is not trusted to show a later change in its
// times (they have a coarse clock), so such a read is not kept.
type envCache struct {
	mu  sync.Mutex
	key [3]fileKey
	env *metadata.Env
	// load is held while the files are read: callers that come meanwhile
	// (the engine watch and the first launches of a new supervisor) wait
	// for that read rather than parse the manifest once each.
	load sync.Mutex
}

type fileKey struct {
	ino, size    uint64
	mtime, ctime int64
	absent       bool
}

// racyWindow is longer than the kernel's coarse clock tick (at most 10
// ms) with room for a slow write.
var racyWindow = time.Second

func statKey(path string) fileKey {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return fileKey{absent: true}
	}
	return fileKey{ino: st.Ino, size: uint64(st.Size), mtime: st.Mtim.Nano(), ctime: st.Ctim.Nano()}
}

// envFiles are the files metadata.OpenTolerant reads.
func envFiles(root string) [3]string {
	return [3]string{filepath.Join(root, metadata.MetadataFile), filepath.Join(root, metadata.ManifestFile),
		filepath.Join(root, "config", ".env")}
}

func (c *envCache) keyOf(root string) [3]fileKey {
	var k [3]fileKey
	for i, f := range envFiles(root) {
		k[i] = statKey(f)
	}
	return k
}

// cached is the environment read with files as k says, or nil.
func (c *envCache) cached(k [3]fileKey) *metadata.Env {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.env != nil && c.key == k {
		return c.env
	}
	return nil
}

// onEnvGet, when set (by tests), is told of every get. Atomic:
// supervisors of earlier tests may still serve.
var onEnvGet atomic.Pointer[func()]

// get returns the environment at root, read again when one of its files
// changed. The Env returned is shared: callers only read it.
func (c *envCache) get(root string) (*metadata.Env, error) {
	if f := onEnvGet.Load(); f != nil {
		(*f)()
	}
	k := c.keyOf(root)
	if env := c.cached(k); env != nil {
		return env, nil
	}
	c.load.Lock()
	defer c.load.Unlock()
	// Another caller may have read it while this one waited.
	if env := c.cached(k); env != nil {
		return env, nil
	}
	readAt := time.Now()
	env, err := metadata.OpenTolerant(root)
	if err != nil {
		return nil, err
	}
	keep := c.keyOf(root) == k // nothing changed while it was read
	for _, f := range k {
		if !f.absent && readAt.Sub(time.Unix(0, max(f.mtime, f.ctime))) < racyWindow {
			keep = false
		}
	}
	c.mu.Lock()
	if keep {
		c.key, c.env = k, env
	} else {
		c.env = nil
	}
	c.mu.Unlock()
	return env, nil
}

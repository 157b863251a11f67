package images

import (
	"encoding/hex"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/patternmatcher"
	"golang.org/x/sys/unix"

	"github.com/berthdev/berth/internal/parts"
)

// The context is walked through directory file descriptors: names come
// from getdents and each is stat'ed relative to its directory, so the
// kernel looks up one name rather than the whole path, and nothing is
// allocated per file but its name (filepath.WalkDir's DirEntry and Lstat's
// FileInfo were most of an up-to-date build's heap, and a page fault costs
// as much as several stats on some machines). The walk's order and lines
// are WalkDir's (TestContextLinesUnchanged).

// parallelStats is how many names a directory needs before its stats are
// split between the processors: fewer are not worth a goroutine.
const parallelStats = 256

// dirEnt is one name of a context directory and, once stat'ed, what its
// line and its cached sum need of its stat.
type dirEnt struct {
	rel                string // slash-separated path in the context
	size, mtime, ctime int64
	ino, dev           uint64
	mode               uint32
	typ                uint8 // getdents' d_type
	skip               bool  // excluded by .dockerignore
}

// contextWalk is one walk of a context, writing its lines to h.
type contextWalk struct {
	h     io.Writer
	dir   string
	pm    *patternmatcher.PatternMatcher
	cache *sumCache
	line  []byte
	dents []byte // getdents' buffer
	// excludes says whether any pattern excludes: with "!" patterns alone
	// (the Dockerfile's and .dockerignore's, when there is no
	// .dockerignore) nothing can match, and the matcher is not asked.
	excludes bool
}

// hashContextFiles writes to h each file, directory and link of the context
// the daemon would receive, with its permissions and content (sums through
// cache).
func hashContextFiles(h io.Writer, dir string, pm *patternmatcher.PatternMatcher, cache *sumCache) error {
	// The context may be a symlink to a directory: its content is what the
	// daemon gets (tarContext walks dir/.), so it is what is hashed.
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &fs.PathError{Op: "open", Path: dir, Err: err}
	}
	defer unix.Close(fd)
	w := &contextWalk{h: h, dir: dir, pm: pm, cache: cache, dents: make([]byte, 64<<10)}
	w.excludes = slices.ContainsFunc(pm.Patterns(), func(p *patternmatcher.Pattern) bool { return !p.Exclusion() })
	return w.walk(fd, "")
}

// walk writes the lines of the directory open at fd, whose entries' paths
// start with prefix, and of everything below it.
func (w *contextWalk) walk(fd int, prefix string) error {
	ents, err := w.list(fd, prefix)
	if err != nil {
		return err
	}
	pl := len(prefix)
	if err := w.statAll(fd, pl, ents); err != nil {
		return err
	}
	for i := range ents {
		e := &ents[i]
		isDir := e.typ == unix.DT_DIR
		if !e.skip || e.typ == unix.DT_UNKNOWN {
			isDir = e.mode&unix.S_IFMT == unix.S_IFDIR
		}
		if !e.skip {
			if err := w.entryLine(fd, pl, e); err != nil {
				return err
			}
		} else if isDir && !w.pm.Exclusions() {
			continue // nothing below can come back
		}
		if isDir {
			if err := w.walkSub(fd, e.rel, e.rel[pl:]); err != nil {
				return err
			}
		}
	}
	return nil
}

func (w *contextWalk) walkSub(fd int, rel, name string) error {
	sub, err := unix.Openat(fd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return w.pathError("open", rel, err)
	}
	defer unix.Close(sub)
	return w.walk(sub, rel+"/")
}

// list reads the names of the directory at fd, sorted as os.ReadDir sorts
// them, marking those .dockerignore leaves out. The directory is read
// whole first, so that its names and entries are allocated once, at their
// size.
func (w *contextWalk) list(fd int, prefix string) ([]dirEnt, error) {
	n := 0
	for {
		if len(w.dents)-n < 4096 {
			w.dents = slices.Grow(w.dents[:n], len(w.dents))
			w.dents = w.dents[:cap(w.dents)]
		}
		got, err := unix.Getdents(fd, w.dents[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, w.pathError("readdirent", strings.TrimSuffix(prefix, "/"), err)
		}
		if got <= 0 {
			break
		}
		n += got
	}
	// Each name is written as prefix, name, NUL, d_type, and the strings
	// sorted as they are: NUL is below any byte of a name, so they sort as
	// the names do, and a sort of strings, inlined, took half the time of
	// a sort of the entries through a comparison function.
	count, size := 0, 0
	eachDirent(w.dents[:n], func(name []byte, _ uint8) {
		count, size = count+1, size+len(prefix)+len(name)+2
	})
	var text strings.Builder
	text.Grow(size)
	keys := make([]string, 0, count)
	eachDirent(w.dents[:n], func(name []byte, typ uint8) {
		text.WriteString(prefix)
		text.Write(name)
		text.WriteByte(0)
		text.WriteByte(typ)
		keys = append(keys, "") // set below, once text is whole
	})
	all := text.String() // no copy: the names stay where they were written
	start := 0
	for i := range keys {
		end := start + strings.IndexByte(all[start:], 0) + 2
		keys[i], start = all[start:end], end
	}
	slices.Sort(keys)
	ents := make([]dirEnt, len(keys))
	for i, k := range keys {
		ents[i].rel, ents[i].typ = k[:len(k)-2], k[len(k)-1]
		if w.excludes {
			skip, err := w.pm.MatchesOrParentMatches(ents[i].rel)
			if err != nil {
				return nil, err
			}
			ents[i].skip = skip
		}
	}
	return ents, nil
}

// eachDirent calls f with each name of a getdents buffer but . and ..
func eachDirent(b []byte, f func(name []byte, typ uint8)) {
	for len(b) >= 19 {
		reclen := int(b[16]) | int(b[17])<<8
		if reclen < 19 || reclen > len(b) {
			return
		}
		name := b[19:reclen]
		if i := slices.Index(name, 0); i >= 0 {
			name = name[:i]
		}
		if string(name) != "." && string(name) != ".." {
			f(name, b[18])
		}
		b = b[reclen:]
	}
}

// statAll stats the entries that need it, split between the processors
// when there are many.
func (w *contextWalk) statAll(fd, pl int, ents []dirEnt) error {
	errs := make([]error, parts.Count(len(ents), parallelStats))
	parts.Run(len(ents), parallelStats, func(i, lo, hi int) {
		errs[i] = w.statRange(fd, pl, ents[lo:hi])
	})
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func (w *contextWalk) statRange(fd, pl int, ents []dirEnt) error {
	var st unix.Stat_t
	for i := range ents {
		e := &ents[i]
		if e.skip && e.typ != unix.DT_UNKNOWN {
			continue // no line; d_type says whether to walk into it
		}
		if err := fstatatNUL(fd, e.rel[pl:], &st); err != nil { // list ends each name with a NUL
			return w.pathError("lstat", e.rel, err)
		}
		e.mode, e.size, e.mtime, e.ctime = st.Mode, st.Size, st.Mtim.Nano(), st.Ctim.Nano()
		e.ino, e.dev = st.Ino, uint64(st.Dev)
	}
	return nil
}

// entryLine writes the line of one entry; the lines are those of fmt's %q
// and %o, built without fmt.
func (w *contextWalk) entryLine(fd, pl int, e *dirEnt) error {
	perm := uint64(e.mode & 0o777)
	name := e.rel[pl:]
	line := w.line
	switch e.mode & unix.S_IFMT {
	case unix.S_IFDIR:
		line = strconv.AppendUint(append(inputLine(line, "dir ", e.rel), ' '), perm, 8)
	case unix.S_IFLNK:
		target, err := readlinkAt(fd, name)
		if err != nil {
			return w.pathError("readlink", e.rel, err)
		}
		line = strconv.AppendQuote(append(inputLine(line, "link ", e.rel), ' '), target)
	case unix.S_IFREG:
		sum, err := w.cache.sum(e, func() (*os.File, error) { return openAt(fd, name, filepath.Join(w.dir, e.rel)) })
		if err != nil {
			return err
		}
		line = strconv.AppendUint(append(inputLine(line, "file ", e.rel), ' '), perm, 8)
		line = hex.AppendEncode(append(line, ' '), sum[:])
	default:
		line = append(append(inputLine(line, "special ", e.rel), ' '), typeMode(e.mode).String()...)
	}
	w.line = line
	_, err := w.h.Write(append(line, '\n'))
	return err
}

// inputLine starts a line of the inputs' hash: kind, then rel as %q.
func inputLine(buf []byte, kind, rel string) []byte {
	buf = append(buf[:0], kind...)
	for i := 0; i < len(rel); i++ {
		if c := rel[i]; c < ' ' || c > '~' || c == '"' || c == '\\' {
			return strconv.AppendQuote(buf, rel)
		}
	}
	// Printable ASCII with no quote or backslash: %q leaves it as it is.
	return append(append(append(buf, '"'), rel...), '"')
}

// typeMode is the fs.FileMode type of a special file, as os.Lstat gives it.
func typeMode(mode uint32) fs.FileMode {
	switch mode & unix.S_IFMT {
	case unix.S_IFBLK:
		return fs.ModeDevice
	case unix.S_IFCHR:
		return fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFIFO:
		return fs.ModeNamedPipe
	case unix.S_IFSOCK:
		return fs.ModeSocket
	}
	return fs.ModeIrregular
}

func readlinkAt(fd int, name string) (string, error) {
	for n := 256; ; n *= 2 {
		buf := make([]byte, n)
		got, err := unix.Readlinkat(fd, name, buf)
		if err != nil {
			return "", err
		}
		if got < n {
			return string(buf[:got]), nil
		}
	}
}

func openAt(fd int, name, path string) (*os.File, error) {
	f, err := unix.Openat(fd, name, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(f), path), nil
}

func (w *contextWalk) pathError(op, rel string, err error) error {
	return &fs.PathError{Op: op, Path: filepath.Join(w.dir, rel), Err: err}
}

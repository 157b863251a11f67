package component

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/berthdev/berth/internal/rawfile"
)

// For a repository on this machine, `git ls-remote --tags --refs` starts
// three processes (git, a shell, git-upload-pack) to list what two files and
// a directory say: most of berth versions' time against a local remote.
// localTags reads them itself, but only where the answer is plainly the one
// ls-remote would give: a repository of the files backend with SHA-1
// objects, refs in packed-refs and loose files of plain names and object
// IDs, every one naming an object present in the repository's own object
// store, and no configuration, here or in git's user and system files, that
// could hide refs or bring other files in. Anything else (reftable, a
// gitfile, a bundle, alternates, a symbolic ref, a lock file, a ref to a
// missing object, hideRefs, includes, url.insteadOf, GIT_NAMESPACE...)
// answers !ok, and the caller asks git.

// localTags lists the tags of the repository at path as ls-remote would,
// sorted by name; ok is false where it cannot be sure of that answer.
func localTags(path string) (tags []string, ok bool) {
	dir, ok := localGitDir(path)
	if !ok || !plainConfig(dir) {
		return nil, false
	}
	refs, ok := readTagRefs(dir)
	if !ok {
		return nil, false
	}
	objs := objectStore{dir: filepath.Join(dir, "objects")}
	defer objs.close()
	present := map[string]bool{}
	for name, id := range refs {
		if !present[string(id)] && !objs.has(id) {
			return nil, false
		}
		present[string(id)] = true
		tags = append(tags, strings.TrimPrefix(name, "refs/tags/"))
	}
	slices.Sort(tags)
	return tags, true
}

// localGitDir is the git directory upload-pack would serve for path
// (enter_repo: path/.git first, then path itself), where that is a plain
// directory owned by this user.
func localGitDir(path string) (string, bool) {
	if path == "" || strings.ContainsAny(path, ":\\") || path[0] == '-' || path[0] == '~' {
		return "", false // URLs, scp-like and ssh addresses, ~user, Windows drives
	}
	if fi, err := os.Lstat(filepath.Join(path, ".git")); err == nil {
		if !fi.IsDir() {
			return "", false // a gitfile or symlink
		}
		path = filepath.Join(path, ".git")
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", false
	}
	for _, p := range []string{path, filepath.Join(path, "objects"), filepath.Join(path, "refs")} {
		fi, err := os.Lstat(p)
		if err != nil || !fi.IsDir() || !ownedByMe(fi) {
			return "", false
		}
	}
	head, err := os.ReadFile(filepath.Join(path, "HEAD"))
	if err != nil || !(bytes.HasPrefix(head, []byte("ref: refs/")) || isHexID(bytes.TrimSuffix(head, []byte("\n")))) {
		return "", false
	}
	for _, p := range []string{"commondir", "objects/info/alternates", "reftable"} {
		if _, err := os.Lstat(filepath.Join(path, p)); !errors.Is(err, fs.ErrNotExist) {
			return "", false
		}
	}
	return path, true
}

// discoveredConfig lists the config files of the repository git would
// find from the working directory (none when there is none); ok is false
// where it cannot tell (no working directory, a gitfile it cannot read).
func discoveredConfig() (files []string, ok bool) {
	dir, err := os.Getwd()
	if err != nil {
		return nil, false
	}
	for {
		fi, err := os.Lstat(filepath.Join(dir, ".git"))
		switch {
		case err == nil && fi.IsDir():
			return []string{filepath.Join(dir, ".git", "config")}, true
		case err == nil:
			return gitfileConfig(dir)
		case !errors.Is(err, fs.ErrNotExist):
			return nil, false
		}
		if isDir(filepath.Join(dir, "objects")) && isDir(filepath.Join(dir, "refs")) {
			if _, err := os.Lstat(filepath.Join(dir, "HEAD")); err == nil {
				return []string{filepath.Join(dir, "config")}, true // a bare repository
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return nil, true
		}
		dir = parent
	}
}

// gitfileConfig lists the config files of the repository that dir's .git
// file names (a linked work tree, a submodule): its own, its common
// directory's and its work tree's.
func gitfileConfig(dir string) ([]string, bool) {
	b, err := os.ReadFile(filepath.Join(dir, ".git"))
	gitDir, found := strings.CutPrefix(strings.TrimSpace(string(b)), "gitdir: ")
	if err != nil || !found {
		return nil, false
	}
	if !filepath.IsAbs(gitDir) {
		gitDir = filepath.Join(dir, gitDir)
	}
	files := []string{filepath.Join(gitDir, "config"), filepath.Join(gitDir, "config.worktree")}
	if c, err := os.ReadFile(filepath.Join(gitDir, "commondir")); err == nil {
		common := strings.TrimSpace(string(c))
		if !filepath.IsAbs(common) {
			common = filepath.Join(gitDir, common)
		}
		files = append(files, filepath.Join(common, "config"))
	}
	return files, true
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

func ownedByMe(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Geteuid()
}

// plainConfig says that no configuration git would read for upload-pack
// can change which refs it shows: no hideRefs, no include, no extensions
// (another object format or ref storage, a partial clone), no namespace, no
// url.insteadOf (which sends the path to another repository), no
// configuration from the environment. The files are searched as text, so a
// mention in a comment also counts: that only costs a git run.
func plainConfig(gitDir string) bool {
	for _, v := range []string{"GIT_NAMESPACE", "GIT_CONFIG_PARAMETERS", "GIT_CONFIG_COUNT", "GIT_CONFIG", "GIT_DIR"} {
		if _, set := os.LookupEnv(v); set {
			return false
		}
	}
	files := []string{filepath.Join(gitDir, "config")}
	// git ls-remote runs in berth's working directory, and so reads the
	// configuration of the repository that holds it too.
	cwdConfig, ok := discoveredConfig()
	if !ok {
		return false
	}
	files = append(files, cwdConfig...)
	if _, set := os.LookupEnv("GIT_CONFIG_NOSYSTEM"); !set || !gitBool(os.Getenv("GIT_CONFIG_NOSYSTEM")) {
		files = append(files, envOr("GIT_CONFIG_SYSTEM", "/etc/gitconfig"))
	}
	if g, set := os.LookupEnv("GIT_CONFIG_GLOBAL"); set {
		files = append(files, g)
	} else {
		home, _ := os.UserHomeDir()
		xdg := os.Getenv("XDG_CONFIG_HOME")
		if xdg == "" && home != "" {
			xdg = filepath.Join(home, ".config")
		}
		if xdg != "" {
			files = append(files, filepath.Join(xdg, "git", "config"))
		}
		if home == "" {
			return false
		}
		files = append(files, filepath.Join(home, ".gitconfig"))
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if errors.Is(err, fs.ErrNotExist) || (err == nil && len(b) == 0) {
			continue
		}
		if err != nil {
			return false
		}
		low := bytes.ToLower(b)
		for _, word := range []string{"hiderefs", "include", "extensions", "namespace", "insteadof"} {
			if bytes.Contains(low, []byte(word)) {
				return false
			}
		}
	}
	return true
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// gitBool is git's reading of a boolean environment variable that is set.
func gitBool(v string) bool {
	switch strings.ToLower(v) {
	case "", "0", "false", "no", "off":
		return false
	}
	return true
}

// readTagRefs reads refs/tags/ from packed-refs and the loose files, a
// loose file taking precedence, as the files backend does.
func readTagRefs(gitDir string) (map[string][]byte, bool) {
	refs := map[string][]byte{}
	if ok := readPackedTags(filepath.Join(gitDir, "packed-refs"), refs); !ok {
		return nil, false
	}
	d, err := os.Open(filepath.Join(gitDir, "refs", "tags"))
	if errors.Is(err, fs.ErrNotExist) {
		return refs, true
	}
	if err != nil {
		return nil, false
	}
	defer d.Close()
	return refs, readLooseTags(d, "refs/tags/", refs)
}

// readLooseTags adds the loose refs under the open directory d, named
// prefix + their path, to refs. Files are opened relative to d: for 500
// loose tags, open, read and close each, against twice the system calls of
// os.ReadFile on a full path.
func readLooseTags(d *os.File, prefix string, refs map[string][]byte) bool {
	entries, err := d.ReadDir(-1)
	if err != nil {
		return false
	}
	dfd := int(d.Fd())
	for _, e := range entries {
		name := prefix + e.Name()
		if !plainRefName(name) {
			return false
		}
		switch {
		case e.IsDir():
			fd, err := unix.Openat(dfd, e.Name(), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			if err != nil {
				return false
			}
			sub := os.NewFile(uintptr(fd), name)
			ok := readLooseTags(sub, name+"/", refs)
			sub.Close()
			if !ok {
				return false
			}
		case e.Type().IsRegular():
			id, err := readLooseRef(dfd, e.Name())
			if err != nil || !isHexID(id) {
				return false // a symbolic ref, a file being written, garbage
			}
			refs[name] = id
		default:
			return false
		}
	}
	return true
}

// readLooseRef reads a loose ref file of one object ID. A longer file is
// returned as read, not an ID.
func readLooseRef(dfd int, name string) ([]byte, error) {
	fd, err := unix.Openat(dfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	// A ref is written whole and renamed into place: a short read is its end.
	b, err := rawfile.Read(fd, make([]byte, 42), rawfile.Short)
	if err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b, []byte("\n")), nil
}

// readPackedTags adds the tags of a packed-refs file to refs.
func readPackedTags(path string, refs map[string][]byte) bool {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return true
	}
	if err != nil {
		return false
	}
	lines := bytes.Split(b, []byte("\n"))
	for i, line := range lines {
		switch {
		case len(line) == 0:
			// Only the end of the file, after its last newline (or an
			// empty file); any other blank line is git's to judge.
			if i != len(lines)-1 {
				return false
			}
		case i == 0 && bytes.HasPrefix(line, []byte("# pack-refs with:")):
		case line[0] == '^':
			if !isHexID(line[1:]) {
				return false
			}
		default:
			id, name, found := bytes.Cut(line, []byte(" "))
			if !found || !isHexID(id) || (strings.HasPrefix(string(name), "refs/tags/") && !plainRefName(string(name))) {
				return false
			}
			if strings.HasPrefix(string(name), "refs/tags/") {
				refs[string(name)] = id
			}
		}
	}
	return true
}

// plainRefName says name is a ref name git accepts and shows as it is, of
// the simplest kind: components of letters, digits and . _ + - that do not
// start with a dot or end in .lock, no "..", no trailing dot.
func plainRefName(name string) bool {
	if strings.HasSuffix(name, ".") || strings.Contains(name, "..") {
		return false
	}
	for _, c := range strings.Split(name, "/") {
		if c == "" || c[0] == '.' || strings.HasSuffix(c, ".lock") {
			return false
		}
		for i := 0; i < len(c); i++ {
			b := c[i]
			if !('a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '.' || b == '_' || b == '+' || b == '-') {
				return false
			}
		}
	}
	return true
}

func isHexID(b []byte) bool {
	if len(b) != 40 {
		return false
	}
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// objectStore answers whether an object is in a repository's own object
// directory: a loose object, or one listed in a pack's index (version 2).
type objectStore struct {
	dir     string
	loaded  bool
	indexes [][]byte // mapped .idx files
}

func (s *objectStore) has(id []byte) bool {
	if _, err := os.Lstat(filepath.Join(s.dir, string(id[:2]), string(id[2:]))); err == nil {
		return true
	}
	var raw [20]byte
	if _, err := hex.Decode(raw[:], id); err != nil {
		return false
	}
	if !s.loaded {
		s.load()
	}
	for _, idx := range s.indexes {
		if idxHas(idx, raw[:]) {
			return true
		}
	}
	return false
}

// load maps the index of every pack that has its pack file.
func (s *objectStore) load() {
	s.loaded = true
	matches, _ := filepath.Glob(filepath.Join(s.dir, "pack", "pack-*.idx"))
	for _, m := range matches {
		if _, err := os.Stat(strings.TrimSuffix(m, ".idx") + ".pack"); err != nil {
			continue
		}
		f, err := os.Open(m)
		if err != nil {
			continue
		}
		fi, err := f.Stat()
		if err == nil && fi.Size() >= 8+256*4 {
			if b, err := syscall.Mmap(int(f.Fd()), 0, int(fi.Size()), syscall.PROT_READ, syscall.MAP_SHARED); err == nil {
				s.indexes = append(s.indexes, b)
			}
		}
		f.Close()
	}
}

func (s *objectStore) close() {
	for _, b := range s.indexes {
		syscall.Munmap(b)
	}
}

// idxHas looks id up in a version 2 pack index: a magic and version, 256
// cumulative counts by first byte, then the sorted object names.
func idxHas(idx, id []byte) bool {
	if !bytes.Equal(idx[:8], []byte{0xff, 't', 'O', 'c', 0, 0, 0, 2}) {
		return false
	}
	fan := idx[8 : 8+256*4]
	lo := uint32(0)
	if id[0] > 0 {
		lo = binary.BigEndian.Uint32(fan[(int(id[0])-1)*4:])
	}
	hi := binary.BigEndian.Uint32(fan[int(id[0])*4:])
	names := idx[8+256*4:]
	if uint64(len(names)) < uint64(binary.BigEndian.Uint32(fan[255*4:]))*20 {
		return false
	}
	for lo < hi {
		mid := lo + (hi-lo)/2
		switch c := bytes.Compare(names[mid*20:mid*20+20], id); {
		case c == 0:
			return true
		case c < 0:
			lo = mid + 1
		default:
			hi = mid
		}
	}
	return false
}

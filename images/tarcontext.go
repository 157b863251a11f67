package images

import (
	"archive/tar"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/moby/go-archive/tarheader"
	"github.com/moby/patternmatcher"
	"golang.org/x/sys/unix"
)

// The build context is written here rather than by go-archive's
// TarWithOptions: that package links a zstd codec whose package
// initialisation builds a CRC table on every start of berth (1.3M
// instructions, 18 % of `berth --version`), for a stream berth never
// compresses. What goes in, and each header, is what TarWithOptions
// writes with no compression and owner 0:0 (TestContextTarMatchesGoArchive
// compares the two): the same .dockerignore walk, names, modes, links,
// hard links, devices and security.capability, modification times to the
// second, no user or group names.

// tarContext streams the tar of the context at dir into a pipe.
func tarContext(dir string, excludes []string) (io.ReadCloser, error) {
	pm, err := patternmatcher.New(excludes)
	if err != nil {
		return nil, err
	}
	if _, err := os.Lstat(dir); err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		err := writeContext(tw, dir, pm)
		if cerr := tw.Close(); err == nil {
			err = cerr
		}
		pw.CloseWithError(err)
	}()
	return pr, nil
}

func writeContext(tw *tar.Writer, dir string, pm *patternmatcher.PatternMatcher) error {
	links := map[uint64]string{}
	var parents []string
	var parentInfo []patternmatcher.MatchInfo
	root := strings.TrimSuffix(dir, string(filepath.Separator)) + string(filepath.Separator) + "."
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil || rel == "." {
			return err
		}
		for len(parents) > 0 && !strings.HasPrefix(rel, parents[len(parents)-1]+string(filepath.Separator)) {
			parents, parentInfo = parents[:len(parents)-1], parentInfo[:len(parentInfo)-1]
		}
		var parent patternmatcher.MatchInfo
		if len(parentInfo) > 0 {
			parent = parentInfo[len(parentInfo)-1]
		}
		skip, info, err := pm.MatchesUsingParentResults(rel, parent)
		if err != nil {
			return err
		}
		if d.IsDir() {
			parents, parentInfo = append(parents, rel), append(parentInfo, info)
		}
		if skip {
			return skipExcluded(pm, rel, d)
		}
		return addContextEntry(tw, path, rel, links)
	})
}

// skipExcluded walks into an excluded directory only when a "!" pattern
// may bring back something inside it.
func skipExcluded(pm *patternmatcher.PatternMatcher, rel string, d fs.DirEntry) error {
	if !d.IsDir() {
		return nil
	}
	dirSlash := rel + string(filepath.Separator)
	for _, p := range pm.Patterns() {
		if p.Exclusion() && strings.HasPrefix(p.String()+string(filepath.Separator), dirSlash) {
			return nil
		}
	}
	return filepath.SkipDir
}

func addContextEntry(tw *tar.Writer, path, rel string, links map[uint64]string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	var link string
	if fi.Mode()&fs.ModeSymlink != 0 {
		if link, err = os.Readlink(path); err != nil {
			return err
		}
	}
	hdr, err := tarheader.FileInfoHeaderNoLookups(fi, link)
	if err != nil {
		// A socket has no tar form; the docker CLI leaves it out too.
		return nil
	}
	hdr.Format = tar.FormatPAX
	hdr.ModTime = hdr.ModTime.Truncate(time.Second)
	hdr.AccessTime, hdr.ChangeTime = time.Time{}, time.Time{}
	hdr.Name = filepath.ToSlash(rel)
	if fi.IsDir() {
		hdr.Name += "/"
	}
	hdr.Uid, hdr.Gid = 0, 0
	addCapability(path, hdr)
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && !fi.IsDir() && st.Nlink > 1 {
		if first, ok := links[st.Ino]; ok {
			hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, first, 0
		} else {
			links[st.Ino] = hdr.Name
		}
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if hdr.Typeflag != tar.TypeReg || hdr.Size == 0 {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(tw, f)
	return err
}

// addCapability keeps a file's capabilities, as revision 2: a revision 3
// entry names a root user of a user namespace that means nothing in the
// image.
func addCapability(path string, hdr *tar.Header) {
	capability := make([]byte, 128)
	n, err := unix.Lgetxattr(path, "security.capability", capability)
	if errors.Is(err, unix.ERANGE) {
		if n, err = unix.Lgetxattr(path, "security.capability", nil); err == nil {
			capability = make([]byte, n)
			n, err = unix.Lgetxattr(path, "security.capability", capability)
		}
	}
	if err != nil {
		return
	}
	capability = capability[:n]
	const revisionAt, revision2, revision3, revision2Size = 3, 2, 3, 20
	if n >= revision2Size && capability[revisionAt] == revision3 {
		capability[revisionAt] = revision2
		capability = capability[:revision2Size]
	}
	if hdr.PAXRecords == nil {
		hdr.PAXRecords = map[string]string{}
	}
	hdr.PAXRecords["SCHILY.xattr.security.capability"] = string(capability)
}

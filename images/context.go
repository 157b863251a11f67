package images

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// inputsVersion changes when the digest's recipe changes, so images built by
// an older berth count as stale rather than current by accident.
const inputsVersion = "berth-inputs/1"

// buildContext is a context directory as the daemon will see it: the
// .dockerignore patterns, and the digest of everything that goes in.
type buildContext struct {
	dir        string
	dockerfile string // slash-separated, relative to dir
	excludes   []string
	digest     string
	dockerText []byte
	// hashed is how many files the scan read and hashed (the others'
	// sums came from the cache).
	hashed int
}

// scanContext reads .dockerignore and computes the inputs digest of the
// context at dir: the Dockerfile's name, the build args, and every file the
// daemon would receive (name, permissions and content).
func scanContext(dir, dockerfile string, args map[string]string) (*buildContext, error) {
	bc, pm, err := readContextRules(dir, dockerfile)
	if err != nil {
		return nil, err
	}
	head := fmt.Appendf(nil, "%s\ndockerfile %q\n", inputsVersion, bc.dockerfile)
	keys := make([]string, 0, len(args))
	for k := range args {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		head = fmt.Appendf(head, "arg %q=%q\n", k, args[k])
	}
	cache := openSumCache(dir)
	bc.digest, err = hashInputs(head, dir, pm, cache)
	if errors.Is(err, errCacheFault) {
		cache = &sumCache{path: cache.path} // read nothing, write it afresh
		bc.digest, err = hashInputs(head, dir, pm, cache)
	}
	if err != nil {
		return nil, fmt.Errorf("read build context %s: %w", dir, err)
	}
	bc.hashed = cache.hashed
	return bc, nil
}

// errCacheFault is a fault reading the mapped sum cache: the file was cut
// short under berth (berth itself replaces it by rename, which a mapping
// does not see).
var errCacheFault = errors.New("the sum cache changed while it was read")

// hashInputs is the digest of head and the context's lines, with sums
// through cache, which it closes.
func hashInputs(head []byte, dir string, pm *patternmatcher.PatternMatcher, cache *sumCache) (digest string, err error) {
	defer cache.close()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			if _, fault := r.(interface{ Addr() uintptr }); fault && cache.mapped != nil {
				err = errCacheFault
				return
			}
			panic(r)
		}
	}()
	h := sha256.New()
	h.Write(head)
	if err := hashContextFiles(h, dir, pm, cache); err != nil {
		return "", err
	}
	cache.save()
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// readContextRules checks the context directory, reads its Dockerfile and
// .dockerignore, and returns the matcher of the files left out.
func readContextRules(dir, dockerfile string) (*buildContext, *patternmatcher.PatternMatcher, error) {
	bc := &buildContext{dir: dir, dockerfile: filepath.ToSlash(dockerfile)}
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("build context %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return nil, nil, fmt.Errorf("build context %s is not a directory", dir)
	}
	if bc.dockerText, err = os.ReadFile(filepath.Join(dir, dockerfile)); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, fmt.Errorf("no Dockerfile at %s: check the image's context and dockerfile in berth.yaml", filepath.Join(dir, dockerfile))
		}
		return nil, nil, fmt.Errorf("read Dockerfile: %w", err)
	}
	if f, err := os.Open(filepath.Join(dir, ".dockerignore")); err == nil {
		bc.excludes, err = ignorefile.ReadAll(f)
		f.Close()
		if err != nil {
			return nil, nil, fmt.Errorf("read %s: %w", filepath.Join(dir, ".dockerignore"), err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("read .dockerignore: %w", err)
	}
	// The daemon needs the Dockerfile and .dockerignore whatever the
	// patterns say; a later "!" pattern wins, as in the docker CLI.
	bc.excludes = append(bc.excludes, "!"+bc.dockerfile, "!.dockerignore")
	pm, err := patternmatcher.New(bc.excludes)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", filepath.Join(dir, ".dockerignore"), err)
	}

	return bc, pm, nil
}

// tar streams the context: the archive is written by a goroutine into a
// pipe as the daemon reads it, so a large context is never held in memory.
func (bc *buildContext) tar() (io.ReadCloser, error) {
	rc, err := tarContext(bc.dir, bc.excludes)
	if err != nil {
		return nil, fmt.Errorf("archive build context %s: %w", bc.dir, err)
	}
	return rc, nil
}

// needsBuildKit says whether a Dockerfile uses what only BuildKit
// understands, and names the first such line.
func needsBuildKit(dockerfile []byte) (bool, string) {
	for i, line := range strings.Split(string(dockerfile), "\n") {
		t := strings.TrimSpace(line)
		low := strings.ToLower(t)
		switch {
		case strings.HasPrefix(low, "# syntax=") || strings.HasPrefix(low, "#syntax="):
			return true, fmt.Sprintf("line %d: %s", i+1, t)
		case strings.HasPrefix(low, "run ") && (strings.Contains(low, "--mount=") || strings.Contains(low, "--network=") || strings.Contains(low, "--security=")):
			return true, fmt.Sprintf("line %d: %s", i+1, t)
		case (strings.HasPrefix(low, "run ") || strings.HasPrefix(low, "copy ")) && strings.Contains(t, "<<"):
			return true, fmt.Sprintf("line %d: %s", i+1, t)
		}
	}
	return false, ""
}

// DockerfileNeedsBuildKit says whether the Dockerfile at path uses
// BuildKit-only syntax, and names the first such line.
func DockerfileNeedsBuildKit(path string) (bool, string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return false, "", err
	}
	needs, line := needsBuildKit(data)
	return needs, line, nil
}

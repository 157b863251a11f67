// Package logs owns reading service logs: a log file with its rotated files
// (service.log, service.log.1 = newest rotated, .2, ...), the last N lines,
// lines since a time, following a file across rotation and truncation, and
// printing several services' lines interleaved with a name prefix, the way
// `docker compose logs` does. Any io.Reader can be a source too, so container
// logs from the Docker daemon go through the same printer.
//
// Times: services need not stamp their lines. A line's time is the RFC 3339
// timestamp it starts with (as `docker logs -t` writes) or Python logging's
// asctime ("2006-01-02 15:04:05,000", local time); a line without one (a
// traceback, say) takes the time of the nearest stamped line before it. For
// --since, a file last written before the time is skipped whole (its mtime
// bounds every line in it); within the files kept, stamped lines older than
// the time are dropped and lines of unknown time are kept.
package logs

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultPoll is how often a followed file is looked at for new lines,
// rotation and truncation.
const DefaultPoll = 100 * time.Millisecond

// Line is one line of a service's log.
type Line struct {
	Source string
	Text   string    // without the newline
	Time   time.Time // zero when unknown
}

// Options select lines.
type Options struct {
	// Tail is how many of the last lines to show; negative means all.
	Tail int
	// Since drops lines known to be older; zero means no limit.
	Since time.Time
	// Follow keeps reading new lines until the context ends.
	Follow bool
	// Unfiltered, if set, is called once for each log file in which Since
	// kept lines of unknown time (the file's lines carry no timestamps):
	// whoever asked for Since can say it could not filter them.
	Unfiltered func(path string)
	// Poll is the follow interval; zero means DefaultPoll.
	Poll time.Duration
	// From, when positive, starts a log file at this byte offset and
	// leaves out its rotated files: what was written after a launch that
	// found the file this long. A file shorter than From was replaced
	// since, and is read from its start.
	From int64
}

// Source is one stream of lines: a log file (Path, with its rotated files)
// or a Reader, such as demultiplexed container output. A Reader is taken as
// it comes: whoever made it applies tail, since and follow (the Docker daemon
// does); if it is an io.Closer it is closed when the context ends.
type Source struct {
	Name   string
	Path   string
	Reader io.Reader
}

// Files lists path's rotated files and path itself, oldest first, only
// those that exist: path.3, path.2, path.1, path.
func Files(path string) ([]string, error) {
	matches, err := filepath.Glob(globEscape(path) + ".*")
	if err != nil {
		return nil, err
	}
	type rotated struct {
		n    int
		path string
	}
	var rs []rotated
	for _, m := range matches {
		n, err := strconv.Atoi(strings.TrimPrefix(m, path+"."))
		if err == nil && n > 0 {
			rs = append(rs, rotated{n, m})
		}
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].n > rs[j].n })
	var out []string
	for _, r := range rs {
		out = append(out, r.path)
	}
	if _, err := os.Stat(path); err == nil {
		out = append(out, path)
	}
	return out, nil
}

func globEscape(p string) string {
	var b strings.Builder
	for _, r := range p {
		if strings.ContainsRune(`*?[\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// ErrNoLog means a log file does not exist (yet).
var ErrNoLog = errors.New("no log file")

// Stream writes the lines of every source to emit, which is never called
// from two goroutines at once. The existing lines come first, source by
// source in the order given; with Follow, new lines of all sources are then
// interleaved as they arrive until ctx ends, which is a clean stop (nil).
// A source that fails does not stop the others; the errors are joined.
func Stream(ctx context.Context, sources []Source, opts Options, emit func(Line) error) error {
	var errs []error
	var followers []func(context.Context, func(Line) error) error
	for _, s := range sources {
		if s.Reader != nil {
			rs := s
			if opts.Follow {
				followers = append(followers, func(ctx context.Context, emit func(Line) error) error {
					return ReadStream(ctx, rs.Name, rs.Reader, emit)
				})
				continue
			}
			if err := ReadStream(ctx, s.Name, s.Reader, emit); err != nil {
				if errors.Is(err, errEmit) {
					return errors.Unwrap(err)
				}
				errs = append(errs, err)
			}
			continue
		}
		fs := &fileSource{name: s.Name, path: s.Path, poll: opts.Poll}
		if err := fs.history(opts, emit); err != nil {
			if errors.Is(err, errEmit) {
				fs.close()
				return errors.Unwrap(err)
			}
			if !(opts.Follow && errors.Is(err, ErrNoLog)) {
				errs = append(errs, err)
			}
		}
		if opts.Follow {
			followers = append(followers, fs.follow)
		} else {
			fs.close()
		}
	}
	if len(followers) == 0 {
		return errors.Join(errs...)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	lines := make(chan Line, 64)
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, f := range followers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := f(ctx, func(l Line) error {
				select {
				case lines <- l:
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			})
			if err != nil && ctx.Err() == nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	go func() { wg.Wait(); close(lines) }()
	var emitErr error
	for l := range lines {
		if emitErr != nil {
			continue // drain so the readers can see ctx and end
		}
		if emitErr = emit(l); emitErr != nil {
			cancel()
		}
	}
	if emitErr != nil {
		return emitErr
	}
	mu.Lock()
	defer mu.Unlock()
	return errors.Join(errs...)
}

// errEmit marks an error of the emit callback, which ends the whole stream.
var errEmit = errors.New("emit")

type emitError struct{ err error }

func (e emitError) Error() string        { return e.err.Error() }
func (e emitError) Is(target error) bool { return target == errEmit }
func (e emitError) Unwrap() error        { return e.err }

// ReadStream emits r's lines until EOF or ctx ends.
func ReadStream(ctx context.Context, name string, r io.Reader, emit func(Line) error) error {
	if c, ok := r.(io.Closer); ok {
		stop := context.AfterFunc(ctx, func() { c.Close() })
		defer stop()
	}
	br := bufio.NewReader(r)
	var last time.Time
	for {
		s, err := br.ReadString('\n')
		if s != "" {
			text := trimEOL(s)
			if t, ok := ParseTime(text); ok {
				last = t
			}
			if eerr := emit(Line{Source: name, Text: text, Time: last}); eerr != nil {
				return emitError{eerr}
			}
		}
		if err == io.EOF || ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read logs of %s: %w", name, err)
		}
	}
}

func trimEOL(s string) string {
	s = strings.TrimSuffix(s, "\n")
	return strings.TrimSuffix(s, "\r")
}

// ParseTime reads the timestamp a log line starts with: RFC 3339 (with or
// without fractions) or Python logging's asctime in local time.
func ParseTime(line string) (time.Time, bool) {
	if len(line) < 19 || line[4] != '-' || line[7] != '-' || line[13] != ':' {
		return time.Time{}, false
	}
	if line[10] == 'T' {
		tok := line
		if i := strings.IndexByte(line, ' '); i > 0 {
			tok = line[:i]
		}
		if t, err := time.Parse(time.RFC3339Nano, tok); err == nil {
			return t, true
		}
		return time.Time{}, false
	}
	if line[10] != ' ' {
		return time.Time{}, false
	}
	s := line[:19]
	if len(line) >= 23 && (line[19] == ',' || line[19] == '.') {
		s = line[:19] + "." + line[20:23]
	}
	t, err := time.ParseInLocation("2006-01-02 15:04:05.999", s, time.Local)
	return t, err == nil
}

// Open streams the sources' lines, as Stream selects and interleaves them,
// through a reader, for callers that want an io.ReadCloser rather than a
// callback. With several sources each line starts with "name | ". Closing
// the reader stops a follow.
func Open(ctx context.Context, sources []Source, opts Options) io.ReadCloser {
	ctx, cancel := context.WithCancel(ctx)
	pr, pw := io.Pipe()
	go func() {
		err := Stream(ctx, sources, opts, func(l Line) error {
			text := l.Text + "\n"
			if len(sources) > 1 {
				text = l.Source + " | " + text
			}
			_, err := io.WriteString(pw, text)
			return err
		})
		for _, s := range sources {
			if c, ok := s.Reader.(io.Closer); ok {
				c.Close()
			}
		}
		pw.CloseWithError(err)
	}()
	return &cancelReader{ReadCloser: pr, cancel: cancel}
}

type cancelReader struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelReader) Close() error {
	c.cancel()
	return c.ReadCloser.Close()
}

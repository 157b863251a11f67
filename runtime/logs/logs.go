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
	"bytes"
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

// fileSource is a log file being read: its history, then, when followed,
// what is appended to it and to the files that replace it.
type fileSource struct {
	name, path string
	poll       time.Duration
	f          *os.File // the live file, positioned after what was read
	partial    []byte   // an unfinished last line
	last       time.Time
}

func (s *fileSource) close() {
	if s.f != nil {
		s.f.Close()
		s.f = nil
	}
}

// history emits the existing lines that opts selects and leaves the live
// file open at its end.
func (s *fileSource) history(opts Options, emit func(Line) error) error {
	files, err := Files(s.path)
	if err != nil {
		return fmt.Errorf("logs of %s: %w", s.name, err)
	}
	if len(files) == 0 {
		return fmt.Errorf("logs of %s: %w at %s yet (the service has written nothing)", s.name, ErrNoLog, s.path)
	}
	live := files[len(files)-1] == s.path
	if live {
		// Open the live file first, so that a rotation while the history is
		// read leaves us holding the file the older lines came from.
		f, err := os.Open(s.path)
		if err != nil {
			return fmt.Errorf("logs of %s: %w", s.name, err)
		}
		s.f = f
		files = files[:len(files)-1]
	}
	switch {
	case opts.From > 0:
		files = nil
		if s.f != nil {
			if fi, err := s.f.Stat(); err == nil && fi.Size() >= opts.From {
				s.f.Seek(opts.From, io.SeekStart)
			}
		}
	case !opts.Since.IsZero():
		files = newerThan(files, opts.Since)
	case opts.Tail >= 0:
		files = enoughFor(files, opts.Tail, s.f)
	}
	var ring []Line
	keep := func(l Line) error {
		if !opts.Since.IsZero() && !l.Time.IsZero() && l.Time.Before(opts.Since) {
			return nil
		}
		if opts.Tail < 0 {
			return emit(l)
		}
		if opts.Tail == 0 {
			return nil
		}
		if len(ring) == opts.Tail {
			ring = ring[1:]
		}
		ring = append(ring, l)
		return nil
	}
	for _, p := range files {
		if err := s.readWhole(p, keep); err != nil {
			return err
		}
	}
	if s.f != nil {
		if err := s.drain(keep); err != nil {
			return err
		}
		if !opts.Follow && len(s.partial) > 0 {
			if err := keep(s.line(string(s.partial))); err != nil {
				return emitError{err}
			}
			s.partial = nil
		}
	}
	for _, l := range ring {
		if err := emit(l); err != nil {
			return emitError{err}
		}
	}
	return nil
}

// newerThan drops the rotated files last written before since.
func newerThan(files []string, since time.Time) []string {
	var out []string
	for _, p := range files {
		if fi, err := os.Stat(p); err == nil && fi.ModTime().Before(since) {
			continue
		}
		out = append(out, p)
	}
	return out
}

// enoughFor drops the oldest rotated files that the last n lines cannot reach.
func enoughFor(files []string, n int, live *os.File) []string {
	have := 0
	if live != nil {
		have = countLines(live)
		live.Seek(0, io.SeekStart)
	}
	i := len(files)
	for i > 0 && have < n {
		i--
		f, err := os.Open(files[i])
		if err != nil {
			continue
		}
		have += countLines(f)
		f.Close()
	}
	return files[i:]
}

func countLines(r io.Reader) int {
	buf := make([]byte, 64<<10)
	n := 0
	for {
		k, err := r.Read(buf)
		n += bytes.Count(buf[:k], []byte{'\n'})
		if err != nil {
			return n
		}
	}
}

func (s *fileSource) line(text string) Line {
	text = strings.TrimSuffix(text, "\r")
	if t, ok := ParseTime(text); ok {
		s.last = t
	}
	return Line{Source: s.name, Text: text, Time: s.last}
}

// readWhole emits every line of a rotated file.
func (s *fileSource) readWhole(path string, emit func(Line) error) error {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil // rotated away while we read; its lines moved to the next number
		}
		return fmt.Errorf("logs of %s: %w", s.name, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		if err := emit(s.line(sc.Text())); err != nil {
			return emitError{err}
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("logs of %s: read %s: %w", s.name, path, err)
	}
	return nil
}

// drain emits the complete lines appended to the live file since the last
// read and keeps an unfinished last line for later.
func (s *fileSource) drain(emit func(Line) error) error {
	buf := make([]byte, 64<<10)
	for {
		n, err := s.f.Read(buf)
		data := buf[:n]
		for len(data) > 0 {
			i := bytes.IndexByte(data, '\n')
			if i < 0 {
				s.partial = append(s.partial, data...)
				break
			}
			text := string(append(s.partial, data[:i]...))
			s.partial = s.partial[:0]
			data = data[i+1:]
			if eerr := emit(s.line(text)); eerr != nil {
				return emitError{eerr}
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("logs of %s: read %s: %w", s.name, s.path, err)
		}
	}
}

// follow emits lines as they are appended until ctx ends. When the file is
// renamed away and a new one made (rotation), the rest of the old file is
// read and the new one followed from its start; when the file shrinks
// (truncation), it is read again from its start.
func (s *fileSource) follow(ctx context.Context, emit func(Line) error) error {
	defer s.close()
	poll := s.poll
	if poll <= 0 {
		poll = DefaultPoll
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
		if err := s.step(emit); err != nil {
			if errors.Is(err, errEmit) {
				return errors.Unwrap(err)
			}
			return err
		}
		timer.Reset(poll)
	}
}

// step reads what is new and handles rotation and truncation once.
func (s *fileSource) step(emit func(Line) error) error {
	if s.f == nil {
		f, err := os.Open(s.path)
		if err != nil {
			return nil // not there yet: the service has not started or is rotating
		}
		s.f = f
	}
	if err := s.drain(emit); err != nil {
		return err
	}
	fi, err := s.f.Stat()
	if err != nil {
		return fmt.Errorf("logs of %s: %w", s.name, err)
	}
	if pos, err := s.f.Seek(0, io.SeekCurrent); err == nil && fi.Size() < pos {
		// Truncated in place (copytruncate): what is there now is new.
		s.partial = s.partial[:0]
		if _, err := s.f.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("logs of %s: %w", s.name, err)
		}
		return s.drain(emit)
	}
	cur, err := os.Stat(s.path)
	if err != nil || os.SameFile(cur, fi) {
		// Same file, or renamed away with no new one yet: the writer may
		// still be writing to the one we hold, so keep reading it.
		return nil
	}
	// Replaced (rotation): finish the old file, whose writer may have added
	// a last line after the rename, and go on with the new one.
	if err := s.drain(emit); err != nil {
		return err
	}
	if len(s.partial) > 0 {
		text := string(s.partial)
		s.partial = s.partial[:0]
		if err := emit(s.line(text)); err != nil {
			return emitError{err}
		}
	}
	s.f.Close()
	s.f = nil
	return s.step(emit)
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

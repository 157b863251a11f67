package logs

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

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
	unfiltered := false
	keep := func(l Line) error {
		if !opts.Since.IsZero() && !l.Time.IsZero() && l.Time.Before(opts.Since) {
			return nil
		}
		if !opts.Since.IsZero() && l.Time.IsZero() && !unfiltered && opts.Unfiltered != nil {
			unfiltered = true
			opts.Unfiltered(s.path)
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

package process

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"syscall"
)

// DefaultMaxFiles is how many rotated files are kept when log.max_size is
// set but log.max_files is not.
const DefaultMaxFiles = 3

// Rotate shifts path to path.1, path.1 to path.2 and so on (1 is the newest),
// keeping maxFiles rotated files, when writing incoming more bytes would take
// path beyond maxSize. maxSize 0 never rotates.
func Rotate(path string, maxSize int64, maxFiles int, incoming int64) error {
	if maxSize <= 0 {
		return nil
	}
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) || (err == nil && (fi.Size() == 0 || fi.Size()+incoming <= maxSize)) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("rotate %s: %w", path, err)
	}
	if maxFiles <= 0 {
		maxFiles = DefaultMaxFiles
	}
	os.Remove(path + "." + strconv.Itoa(maxFiles))
	for i := maxFiles - 1; i >= 1; i-- {
		if err := os.Rename(path+"."+strconv.Itoa(i), path+"."+strconv.Itoa(i+1)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("rotate %s: %w", path, err)
		}
	}
	if err := os.Rename(path, path+".1"); err != nil {
		return fmt.Errorf("rotate %s: %w", path, err)
	}
	return nil
}

// RotatingWriter appends to a file and rotates it by size.
type RotatingWriter struct {
	Path     string
	MaxSize  int64
	MaxFiles int
	f        *os.File
	size     int64
}

// Write appends p, rotating whenever the file would pass MaxSize. A write
// larger than the room left is split, at the last line end that fits if
// there is one, so no file grows beyond MaxSize.
func (w *RotatingWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		if err := w.open(); err != nil {
			return written, err
		}
		chunk := p
		if w.MaxSize > 0 && w.size+int64(len(p)) > w.MaxSize {
			room := w.MaxSize - w.size
			if room <= 0 || (w.size > 0 && bytes.LastIndexByte(p[:min(room, int64(len(p)))], '\n') < 0) {
				if err := w.rotate(); err != nil {
					return written, err
				}
				continue
			}
			chunk = p[:room]
			if nl := bytes.LastIndexByte(chunk, '\n'); nl >= 0 {
				chunk = p[:nl+1]
			}
		}
		n, err := w.f.Write(chunk)
		w.size += int64(n)
		written += n
		if err != nil {
			return written, err
		}
		p = p[n:]
	}
	return written, nil
}

func (w *RotatingWriter) open() error {
	if w.f != nil {
		return nil
	}
	f, err := os.OpenFile(w.Path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	w.f, w.size = f, fi.Size()
	return nil
}

func (w *RotatingWriter) rotate() error {
	w.Close()
	return Rotate(w.Path, w.MaxSize, w.MaxFiles, w.MaxSize)
}

// Close closes the current file.
func (w *RotatingWriter) Close() error {
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	return err
}

// LogPipe is the log writer process (berth internal logpipe): it copies
// its input, the service's stdout and stderr, into a rotating file until
// EOF, which comes when the service and every child holding the pipe have
// ended. It outlives berth, and it ignores TERM, INT and HUP, so that only
// the service's end, not a stop signal or a closing terminal, ends it.
func LogPipe(in io.Reader, path string, maxSize int64, maxFiles int) error {
	signal.Ignore(syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	w := &RotatingWriter{Path: path, MaxSize: maxSize, MaxFiles: maxFiles}
	defer w.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := in.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				// Keep draining so the service never blocks on a full pipe.
				fmt.Fprintf(os.Stderr, "berth logpipe: %s: %v\n", path, werr)
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

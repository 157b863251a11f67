package main

import (
	"io"
	"os"
	"sync"

	"github.com/moby/term"
)

// streams are berth's standard input, output and error as the commands see
// them. Commands never touch os.Stdin, os.Stdout or os.Stderr: main hands
// in the process's own, tests hand in buffers.
type streams struct {
	stdin  *inStream
	stdout *outStream
	stderr *outStream
}

func newStreams(in io.Reader, out, errOut io.Writer) *streams {
	if in == nil {
		in = eofReader{}
	}
	return &streams{stdin: &inStream{in, termInfo(in)}, stdout: &outStream{Writer: out, terminal: termInfo(out)}, stderr: &outStream{Writer: errOut, terminal: termInfo(errOut)}}
}

// terminal says whether a stream is a terminal, decided once when berth
// starts, and gives its file descriptor when it is one.
type terminal struct {
	fd     uintptr
	isTerm bool
}

func termInfo(s any) terminal {
	fd, ok := term.GetFdInfo(s)
	return terminal{fd: fd, isTerm: ok}
}

// IsTerminal says whether the stream is a terminal: only then may berth ask
// questions on it or draw progress on it.
func (t terminal) IsTerminal() bool { return t.isTerm }

// FD is the terminal's file descriptor; meaningful only when IsTerminal.
func (t terminal) FD() uintptr { return t.fd }

// inStream is standard input; Reader is what it reads from.
type inStream struct {
	io.Reader
	terminal
}

// outStream is standard output or error; Writer is what it writes to.
type outStream struct {
	io.Writer
	terminal
	// wrote: something was written on this stream (with -o json, a
	// document: berth does not add an error object after it).
	wrote bool
}

func (o *outStream) Write(p []byte) (int, error) {
	o.wrote = o.wrote || len(p) > 0
	return o.Writer.Write(p)
}

// colorEnabled says whether text on this stream may be coloured: it is a
// terminal and NO_COLOR is unset or empty (no-color.org).
func (o *outStream) colorEnabled() bool {
	return o.IsTerminal() && os.Getenv("NO_COLOR") == ""
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// files gives the streams as the files a child process inherits (a
// foreground service shares berth's terminal). A stream that is not a file,
// such as a test's buffer, is joined to the child through a pipe; release
// waits until the child's output has been copied.
func (s *streams) files() (in, out, errOut *os.File, release func(), err error) {
	var closers []func()
	release = func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	in, err = readFile(s.stdin.Reader, &closers)
	if err == nil {
		out, err = writeFile(s.stdout.Writer, &closers)
	}
	if err == nil {
		errOut, err = writeFile(s.stderr.Writer, &closers)
	}
	if err != nil {
		release()
		return nil, nil, nil, nil, err
	}
	return in, out, errOut, release, nil
}

func readFile(r io.Reader, closers *[]func()) (*os.File, error) {
	if f, ok := r.(*os.File); ok {
		return f, nil
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	go func() {
		io.Copy(pw, r)
		pw.Close()
	}()
	// Closing the read end makes a copy still blocked on the pipe give up.
	*closers = append(*closers, func() { pr.Close() })
	return pr, nil
}

func writeFile(w io.Writer, closers *[]func()) (*os.File, error) {
	if f, ok := w.(*os.File); ok {
		return f, nil
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		io.Copy(w, pr)
		pr.Close()
	}()
	*closers = append(*closers, func() {
		pw.Close()
		wg.Wait()
	})
	return pw, nil
}

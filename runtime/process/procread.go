package process

import (
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berthdev/berth/internal/rawfile"
)

// Reads of /proc are most of what status and stop do, so they are made
// with three system calls each (open, read, close) instead of the eight or
// so of os.ReadFile, which also asks the poller to take a file it cannot
// poll; and walks of all of /proc are shared between concurrent callers.

// readBuf lends a buffer for one read of a /proc file or a PID file. A
// status of 100 services reads 300 such files; a fresh 4 KiB buffer for
// each is a fresh page of heap, and on a virtual machine the first touch
// of a page costs 5-10 µs (100 environ reads were a tenth of a status's
// page faults). The array cannot stay on the caller's stack: the parsers
// it is handed to (bytes.Fields, bytes.SplitSeq, encoding/json) let the
// compiler prove nothing. Whatever is kept from a read is copied out
// (strings, numbers) before the buffer is given back. A small free list,
// not a sync.Pool: it keeps what it is given, under the race detector too.
func readBuf() (*[4096]byte, func()) {
	var b *[4096]byte
	select {
	case b = <-readBufs:
	default:
		b = new([4096]byte)
	}
	return b, func() {
		select {
		case readBufs <- b:
		default:
		}
	}
}

var readBufs = make(chan *[4096]byte, 8)

// readProcFile reads a small file of /proc into buf (grown as needed). A
// file that ends in a newline and did not fill buf is complete after one
// read: /proc/<pid>/stat is produced whole.
func readProcFile(path string, buf []byte) ([]byte, error) {
	fd, err := rawfile.Open(path, unix.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	data, err := rawfile.Read(fd, buf, rawfile.ShortLine)
	if err != nil {
		return nil, &os.PathError{Op: "read", Path: path, Err: err}
	}
	return data, nil
}

// procWalk is one walk of /proc: the live processes as found at or after
// begun.
type procWalk struct {
	begun, ended time.Time
	done         chan struct{}
	procs        []procStat
}

// walker shares walks of /proc, as a group commit shares a write: a caller
// that needs the processes as they are at or after time t takes a walk
// begun at or after t, in progress or done; one that arrives while an
// older walk runs waits for it to end and then shares the next with every
// other caller that waited.
type walker struct {
	mu      sync.Mutex
	running *procWalk
	last    *procWalk
	walks   int // walks made, for tests
	// walk makes one walk.
	walk func() []procStat
	// spacing, if not 0, is how many times the last walk's own duration
	// must pass between its end and the next walk's start.
	spacing int
}

// shared serves every walk of this process: a walk is a fact about the
// system at a time, whoever asked for it.
var shared = walker{walk: allProcs}

// groups shares the walks that find process groups' members (groupProcs):
// each process's group, without its stat. Its walks are spaced: the stops
// of 100 services whose groups an init had not reaped yet each asked for
// a walk begun after its own exits, and walks ran back to back for as
// long as exits came in, a processor's worth of CPU taken from the
// exiting services. Spaced, each walk takes at most a fifth of a
// processor, and a caller that waits for the next shares it with every
// other that came meanwhile; a walk of 350 processes takes about 0.3 ms
// here, so the wait is a millisecond or two.
var groups = walker{walk: groupProcs, spacing: 4}

// since returns the live processes as a walk begun at or after t found them.
func (w *walker) since(t time.Time) []procStat {
	w.mu.Lock()
	for {
		if w.last != nil && !w.last.begun.Before(t) {
			procs := w.last.procs
			w.mu.Unlock()
			return procs
		}
		c := w.running
		if c == nil {
			if wait := w.wait(); wait > 0 {
				w.mu.Unlock()
				time.Sleep(wait)
				w.mu.Lock()
				continue
			}
			break
		}
		w.mu.Unlock()
		<-c.done
		if !c.begun.Before(t) {
			return c.procs
		}
		w.mu.Lock()
	}
	c := &procWalk{begun: time.Now(), done: make(chan struct{})}
	w.running = c
	w.walks++
	w.mu.Unlock()
	c.procs = w.walk()
	c.ended = time.Now()
	w.mu.Lock()
	w.running, w.last = nil, c
	w.mu.Unlock()
	close(c.done)
	return c.procs
}

// wait is how long the next walk must wait for its spacing. The caller
// holds w.mu.
func (w *walker) wait() time.Duration {
	if w.spacing == 0 || w.last == nil {
		return 0
	}
	gap := min(time.Duration(w.spacing)*w.last.ended.Sub(w.last.begun), maxSpacing)
	return time.Until(w.last.ended.Add(gap))
}

// maxSpacing bounds a walk's wait for its spacing, whatever the last one
// took on a loaded machine.
const maxSpacing = 5 * time.Millisecond

// liveProcs is every live process as found now (by a walk begun after
// this call).
func liveProcs() []procStat { return shared.since(time.Now()) }

package images

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/docker/go-units"
)

// uploadPoll is how often a terminal's upload line is redrawn.
const uploadPoll = 100 * time.Millisecond

// upload counts the build context as the daemon reads it and shows it, as
// `docker build` does: on a terminal a line redrawn in place with the
// bytes sent and the time so far; elsewhere one plain line once it is all
// sent.
type upload struct {
	r        io.Reader
	out      io.Writer
	terminal bool
	start    time.Time

	mu   sync.Mutex
	sent int64
	done bool
	stop chan struct{}
}

func newUpload(r io.Reader, out io.Writer, terminal bool) *upload {
	u := &upload{r: r, out: out, terminal: terminal, start: time.Now(), stop: make(chan struct{})}
	if terminal && out != nil {
		go u.redraw()
	}
	return u
}

func (u *upload) Read(p []byte) (int, error) {
	n, err := u.r.Read(p)
	u.mu.Lock()
	u.sent += int64(n)
	u.mu.Unlock()
	if err == io.EOF {
		u.finish()
	}
	return n, err
}

func (u *upload) line() string {
	return fmt.Sprintf("#0 sending build context %s %.1fs", units.HumanSize(float64(u.sent)), time.Since(u.start).Seconds())
}

func (u *upload) redraw() {
	tick := time.NewTicker(uploadPoll)
	defer tick.Stop()
	for {
		select {
		case <-u.stop:
			return
		case <-tick.C:
			u.mu.Lock()
			if !u.done {
				fmt.Fprintf(u.out, "\r\x1b[K%s", u.line())
			}
			u.mu.Unlock()
		}
	}
}

// finish writes the final line once: the whole context was sent.
func (u *upload) finish() {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.done {
		return
	}
	u.done = true
	close(u.stop)
	if u.out == nil {
		return
	}
	if u.terminal {
		fmt.Fprint(u.out, "\r\x1b[K")
	}
	fmt.Fprintf(u.out, "%s done\n", u.line())
}

// close stops the redrawing of an upload that did not finish (the request
// failed), leaving the line as it was.
func (u *upload) close() {
	u.mu.Lock()
	defer u.mu.Unlock()
	if !u.done {
		u.done = true
		close(u.stop)
		if u.terminal {
			fmt.Fprintln(u.out)
		}
	}
}

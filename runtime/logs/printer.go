package logs

import (
	"io"
	"os"
	"strings"
	"sync"

	"github.com/moby/term"
)

// palette is the prefix colours, given out in the order services are named,
// as docker compose does; red is left out because it reads as an error.
var palette = []string{"36", "33", "32", "35", "34", "96", "93", "92", "95", "94"}

// Printer writes lines with the service name as a prefix, padded to the
// longest name: "core    | text". With one service there is no prefix, so
// the output is the log itself.
type Printer struct {
	mu     sync.Mutex
	w      io.Writer
	prefix map[string]string
}

// NewPrinter prints lines of the named services to w, coloured if color.
func NewPrinter(w io.Writer, names []string, color bool) *Printer {
	p := &Printer{w: w}
	if len(names) < 2 {
		return p
	}
	width := 0
	for _, n := range names {
		width = max(width, len(n))
	}
	p.prefix = map[string]string{}
	for i, n := range names {
		pad := n + strings.Repeat(" ", width-len(n)) + " | "
		if color {
			pad = "\x1b[" + palette[i%len(palette)] + "m" + pad + "\x1b[0m"
		}
		p.prefix[n] = pad
	}
	return p
}

// Print writes one line whole.
func (p *Printer) Print(l Line) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, err := io.WriteString(p.w, p.prefix[l.Source]+l.Text+"\n")
	return err
}

// ColorEnabled says whether output to w may be coloured: w is a terminal
// and NO_COLOR is unset or empty (no-color.org).
func ColorEnabled(w io.Writer) bool {
	if os.Getenv("NO_COLOR") != "" {
		return false
	}
	f, ok := w.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(f.Fd())
}

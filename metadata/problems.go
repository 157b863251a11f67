package metadata

import (
	"fmt"
	"strings"
)

// Problem is one thing wrong with a manifest.
type Problem struct {
	Line int
	Msg  string
}

// ManifestError reports every problem of a manifest at once.
type ManifestError struct {
	Path     string
	Problems []Problem
}

func (e *ManifestError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d problem(s):", e.Path, len(e.Problems))
	for _, p := range e.Problems {
		if p.Line > 0 {
			fmt.Fprintf(&b, "\n  %s:%d: %s", e.Path, p.Line, p.Msg)
		} else {
			fmt.Fprintf(&b, "\n  %s: %s", e.Path, p.Msg)
		}
	}
	return b.String()
}

// problems collects a manifest's problems, each at the line of the entry
// it names.
type problems struct {
	lines entityLines
	list  []Problem
}

// add records a problem with the entry key (services.api.health).
func (p *problems) add(key, format string, args ...any) {
	p.list = append(p.list, Problem{Line: p.lines.of(key), Msg: fmt.Sprintf(format, args...)})
}

package images

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// BuildKit's progress arrives as "moby.buildkit.trace" aux messages: a
// base64 string holding a protobuf StatusResponse (moby/buildkit's control
// API). Only a few of its fields matter here, so they are read with
// protowire rather than by pulling in all of BuildKit.

type bkVertex struct {
	digest    string
	name      string
	cached    bool
	started   bool
	completed bool
	err       string
	began     time.Time // when berth saw it start
}

type bkLog struct {
	vertex string
	msg    []byte
}

type bkStatus struct {
	vertexes []bkVertex
	logs     []bkLog
}

// decodeTrace reads the aux value of a moby.buildkit.trace message.
func decodeTrace(aux json.RawMessage) (*bkStatus, error) {
	var s string
	if err := json.Unmarshal(aux, &s); err != nil {
		return nil, fmt.Errorf("buildkit trace: %w", err)
	}
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("buildkit trace: %w", err)
	}
	st := &bkStatus{}
	err = eachField(raw, func(num protowire.Number, typ protowire.Type, v []byte) error {
		switch {
		case num == 1 && typ == protowire.BytesType:
			var vx bkVertex
			err := eachField(v, func(n protowire.Number, t protowire.Type, b []byte) error {
				switch n {
				case 1:
					vx.digest = string(b)
				case 3:
					vx.name = string(b)
				case 4:
					vx.cached = len(b) > 0 && b[0] != 0
				case 5:
					vx.started = true
				case 6:
					vx.completed = true
				case 7:
					vx.err = string(b)
				}
				return nil
			})
			st.vertexes = append(st.vertexes, vx)
			return err
		case num == 3 && typ == protowire.BytesType:
			var l bkLog
			err := eachField(v, func(n protowire.Number, t protowire.Type, b []byte) error {
				switch n {
				case 1:
					l.vertex = string(b)
				case 4:
					l.msg = append([]byte(nil), b...)
				}
				return nil
			})
			st.logs = append(st.logs, l)
			return err
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("buildkit trace: %w", err)
	}
	return st, nil
}

// eachField calls fn with every field of a protobuf message; v is the
// payload of a length-delimited field, or the varint's bytes (1 for true).
func eachField(b []byte, fn func(protowire.Number, protowire.Type, []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		var v []byte
		switch typ {
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		case protowire.VarintType:
			var x uint64
			x, n = protowire.ConsumeVarint(b)
			if x != 0 {
				v = []byte{1}
			} else {
				v = []byte{0}
			}
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		if err := fn(num, typ, v); err != nil {
			return err
		}
	}
	return nil
}

// bkPrinter renders BuildKit progress as plain numbered lines, like
// BuildKit's own plain progress, and remembers each step's output so that a
// failure can be reported with what the failing step printed.
type bkPrinter struct {
	out    io.Writer
	ids    map[string]int
	seen   map[string]*bkVertex
	logs   map[string]*bytes.Buffer
	failed *bkVertex
	// noCache: the build was asked for without the cache. BuildKit still
	// marks its internal context steps (loading and copying the context it
	// was sent) cached; saying CACHED then would contradict --no-cache.
	noCache bool
}

func newBKPrinter(out io.Writer) *bkPrinter {
	return &bkPrinter{out: out, ids: map[string]int{}, seen: map[string]*bkVertex{}, logs: map[string]*bytes.Buffer{}}
}

func (p *bkPrinter) id(digest string) int {
	if n, ok := p.ids[digest]; ok {
		return n
	}
	p.ids[digest] = len(p.ids) + 1
	return p.ids[digest]
}

func (p *bkPrinter) handle(st *bkStatus) {
	for _, v := range st.vertexes {
		old := p.seen[v.digest]
		if old == nil {
			old = &bkVertex{digest: v.digest, name: v.name}
			p.seen[v.digest] = old
		}
		n := p.id(v.digest)
		if v.started && !old.started {
			fmt.Fprintf(p.out, "#%d %s\n", n, v.name)
			old.began = time.Now()
		}
		if v.cached && !old.cached && !p.noCache {
			fmt.Fprintf(p.out, "#%d CACHED\n", n)
		}
		if v.err != "" && old.err == "" {
			fmt.Fprintf(p.out, "#%d ERROR: %s\n", n, v.err)
			if p.failed == nil {
				p.failed = old
			}
		} else if v.completed && !old.completed {
			// The step's time as docker's plain progress gives it: from
			// when berth saw it start.
			took := 0.0
			if !old.began.IsZero() {
				took = time.Since(old.began).Seconds()
			}
			fmt.Fprintf(p.out, "#%d DONE %.1fs\n", n, took)
		}
		old.started = old.started || v.started
		old.cached = old.cached || v.cached
		old.completed = old.completed || v.completed
		if v.err != "" {
			old.err = v.err
		}
		if v.name != "" {
			old.name = v.name
		}
	}
	for _, l := range st.logs {
		n := p.id(l.vertex)
		buf := p.logs[l.vertex]
		if buf == nil {
			buf = &bytes.Buffer{}
			p.logs[l.vertex] = buf
		}
		buf.Write(l.msg)
		for _, line := range strings.SplitAfter(string(l.msg), "\n") {
			if line == "" {
				continue
			}
			fmt.Fprintf(p.out, "#%d %s", n, line)
			if !strings.HasSuffix(line, "\n") {
				fmt.Fprintln(p.out)
			}
		}
	}
}

// failure is the failing step's name and output, if BuildKit named one.
func (p *bkPrinter) failure() (step string, output string) {
	if p.failed == nil {
		return "", ""
	}
	if buf := p.logs[p.failed.digest]; buf != nil {
		output = buf.String()
	}
	return p.failed.name, output
}

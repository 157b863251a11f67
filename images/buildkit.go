package images

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// BuildKit's progress arrives as "moby.buildkit.trace" aux messages: a
// base64 string holding a protobuf StatusResponse (moby/buildkit's control
// API). Only a few of its fields matter here, so they are read by the few
// lines of eachField rather than by pulling in all of BuildKit, or the
// protobuf module, whose initialisation (detrand hashes the executable:
// a dozen system calls) every berth run paid.

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
	err = eachField(raw, func(num uint64, typ wireType, v []byte) error {
		switch {
		case num == 1 && typ == wireBytes:
			var vx bkVertex
			err := eachField(v, func(n uint64, t wireType, b []byte) error {
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
		case num == 3 && typ == wireBytes:
			var l bkLog
			err := eachField(v, func(n uint64, t wireType, b []byte) error {
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

// wireType is a protobuf field's wire type, the low three bits of its tag.
type wireType uint8

const (
	wireVarint     wireType = 0
	wireFixed64    wireType = 1
	wireBytes      wireType = 2
	wireStartGroup wireType = 3
	wireEndGroup   wireType = 4
	wireFixed32    wireType = 5
)

var errWire = errors.New("malformed protobuf message")

// eachField calls fn with every field of a protobuf message; v is the
// payload of a length-delimited field, or the varint's bytes (1 for true).
// Fields of the other wire types (and groups) are skipped, with the same
// checks protobuf's own decoder makes: a field number of at least 1, varints
// of at most 10 bytes, nothing cut short, groups closed by their own number.
func eachField(b []byte, fn func(num uint64, typ wireType, v []byte) error) error {
	for len(b) > 0 {
		num, typ, n := consumeTag(b)
		if n < 0 {
			return errWire
		}
		b = b[n:]
		var v []byte
		switch typ {
		case wireBytes:
			v, n = consumeBytes(b)
		case wireVarint:
			var x uint64
			x, n = consumeVarint(b)
			if x != 0 {
				v = []byte{1}
			} else {
				v = []byte{0}
			}
		default:
			n = skipValue(num, typ, b, 0)
		}
		if n < 0 {
			return errWire
		}
		b = b[n:]
		if err := fn(num, typ, v); err != nil {
			return err
		}
	}
	return nil
}

// consumeVarint decodes a base-128 varint; n < 0 when it is cut short or
// longer than 64 bits.
func consumeVarint(b []byte) (x uint64, n int) {
	for i := 0; i < len(b) && i < 10; i++ {
		c := b[i]
		if i == 9 && c > 1 {
			return 0, -1
		}
		x |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			return x, i + 1
		}
	}
	return 0, -1
}

func consumeTag(b []byte) (num uint64, typ wireType, n int) {
	x, n := consumeVarint(b)
	if n < 0 || x>>3 < 1 || x>>3 > 1<<31-1 {
		return 0, 0, -1
	}
	return x >> 3, wireType(x & 7), n
}

func consumeBytes(b []byte) ([]byte, int) {
	l, n := consumeVarint(b)
	if n < 0 || l > uint64(len(b)-n) {
		return nil, -1
	}
	return b[n : n+int(l)], n + int(l)
}

// skipValue returns the length of a field's value of wire type typ; a group
// runs to the end-group tag of the same number.
func skipValue(num uint64, typ wireType, b []byte, depth int) int {
	switch typ {
	case wireVarint:
		_, n := consumeVarint(b)
		return n
	case wireFixed32:
		if len(b) < 4 {
			return -1
		}
		return 4
	case wireFixed64:
		if len(b) < 8 {
			return -1
		}
		return 8
	case wireBytes:
		_, n := consumeBytes(b)
		return n
	case wireStartGroup:
		if depth > 10000 {
			return -1
		}
		for total := 0; ; {
			num2, typ2, n := consumeTag(b[total:])
			if n < 0 {
				return -1
			}
			total += n
			if typ2 == wireEndGroup {
				if num2 != num {
					return -1
				}
				return total
			}
			n = skipValue(num2, typ2, b[total:], depth+1)
			if n < 0 {
				return -1
			}
			total += n
		}
	}
	return -1 // an end group without its start, or wire type 6 or 7
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

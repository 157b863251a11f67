package images

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// protowireFields is eachField as it was written with protobuf's protowire:
// the reference the few lines of eachField must agree with.
func protowireFields(b []byte) ([]string, error) {
	var out []string
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return out, protowire.ParseError(n)
		}
		b = b[n:]
		var v []byte
		switch typ {
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		case protowire.VarintType:
			var x uint64
			x, n = protowire.ConsumeVarint(b)
			v = []byte{0}
			if x != 0 {
				v = []byte{1}
			}
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return out, protowire.ParseError(n)
		}
		b = b[n:]
		out = append(out, fmt.Sprintf("%d/%d/%x", num, typ, v))
	}
	return out, nil
}

func ownFields(b []byte) ([]string, error) {
	var out []string
	err := eachField(b, func(num uint64, typ wireType, v []byte) error {
		out = append(out, fmt.Sprintf("%d/%d/%x", num, typ, v))
		return nil
	})
	return out, err
}

func wireSeeds() [][]byte {
	var vertex, log, status []byte
	vertex = protowire.AppendTag(vertex, 1, protowire.BytesType)
	vertex = protowire.AppendString(vertex, "sha256:abc")
	vertex = protowire.AppendTag(vertex, 3, protowire.BytesType)
	vertex = protowire.AppendString(vertex, "[1/2] RUN true")
	vertex = protowire.AppendTag(vertex, 4, protowire.VarintType)
	vertex = protowire.AppendVarint(vertex, 1)
	vertex = protowire.AppendTag(vertex, 5, protowire.BytesType) // started: a Timestamp
	vertex = protowire.AppendBytes(vertex, []byte{8, 1})
	vertex = protowire.AppendTag(vertex, 9, protowire.Fixed64Type)
	vertex = protowire.AppendFixed64(vertex, 7)
	vertex = protowire.AppendTag(vertex, 10, protowire.Fixed32Type)
	vertex = protowire.AppendFixed32(vertex, 7)
	vertex = protowire.AppendTag(vertex, 11, protowire.StartGroupType)
	vertex = protowire.AppendTag(vertex, 12, protowire.VarintType)
	vertex = protowire.AppendVarint(vertex, 1<<63)
	vertex = protowire.AppendTag(vertex, 11, protowire.EndGroupType)
	log = protowire.AppendTag(log, 1, protowire.BytesType)
	log = protowire.AppendString(log, "sha256:abc")
	log = protowire.AppendTag(log, 4, protowire.BytesType)
	log = protowire.AppendString(log, "hello\n")
	status = protowire.AppendTag(status, 1, protowire.BytesType)
	status = protowire.AppendBytes(status, vertex)
	status = protowire.AppendTag(status, 3, protowire.BytesType)
	status = protowire.AppendBytes(status, log)
	return [][]byte{status, vertex, log, {}, {0}, {8}, {0x80}, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, {0xf8, 0xff, 0xff, 0xff, 0x0f, 0}, {0xf8, 0xff, 0xff, 0xff, 0x07, 0}, {0x0b, 0x0c}, {0x0b, 0x14}, {0x0c}, {0x0e}, {0x0a, 0x05, 1}}
}

// FuzzWireAgreesWithProtowire: eachField reads the same fields as protobuf's
// protowire from any bytes, and fails where it fails.
func FuzzWireAgreesWithProtowire(f *testing.F) {
	for _, s := range wireSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		want, werr := protowireFields(b)
		got, gerr := ownFields(b)
		if (werr == nil) != (gerr == nil) || (werr == nil && !slices.Equal(got, want)) || !slices.Equal(got, want[:min(len(want), len(got))]) {
			t.Fatalf("%x: eachField %v (%v), protowire %v (%v)", b, got, gerr, want, werr)
		}
	})
}

func TestDecodeTrace(t *testing.T) {
	raw := wireSeeds()[0]
	aux, _ := json.Marshal(base64.StdEncoding.EncodeToString(raw))
	st, err := decodeTrace(aux)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.vertexes) != 1 || len(st.logs) != 1 {
		t.Fatalf("%+v", st)
	}
	v := st.vertexes[0]
	if v.digest != "sha256:abc" || v.name != "[1/2] RUN true" || !v.cached || !v.started || v.completed || v.err != "" {
		t.Errorf("vertex %+v", v)
	}
	if l := st.logs[0]; l.vertex != "sha256:abc" || string(l.msg) != "hello\n" {
		t.Errorf("log %+v", l)
	}
	bad, _ := json.Marshal(base64.StdEncoding.EncodeToString([]byte{0x0a, 0x05, 1}))
	if _, err := decodeTrace(bad); !errors.Is(err, errWire) {
		t.Errorf("a cut message: %v", err)
	}
}

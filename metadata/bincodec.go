package metadata

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sync"
)

// A compact binary form of the parsed manifest, for the manifest cache
// (manifest_cache.go): reading a manifest of 100 services through it took
// 0.18 ms against 1.2 ms for the YAML (BenchmarkLoadManifest). It is written and read by walking the value by
// reflection, every exported field in declaration order, so a field added
// to the manifest's types is carried without a line here; the round-trip
// tests (parse, encode, decode, compare) are what keeps it whole.
// Unexported fields are not carried: they are derived (the graph), and
// the decoder's caller derives them again.
//
// Each value is a uvarint or varint for numbers and booleans, a length
// then bytes for strings, 0 for a nil pointer, slice or map and otherwise
// 1 (pointer) or the length plus one (slice, map) followed by the
// elements; a struct is the number of its exported fields that are not
// zero, then each one's ordinal among the exported fields and its value
// (most of a service's thirty fields are left unset). It is berth's own and never leaves the machine: there is no
// schema in the bytes, only the build that wrote them (the cache's key
// names the executable).

var errBinCorrupt = errors.New("corrupt manifest cache")

// exportedFields are the indexes of t's exported fields, worked out once
// per type.
func exportedFields(t reflect.Type) []int {
	if f, ok := fieldsOf.Load(t); ok {
		return f.([]int)
	}
	var f []int
	for i := range t.NumField() {
		if t.Field(i).IsExported() {
			f = append(f, i)
		}
	}
	fieldsOf.Store(t, f)
	return f
}

var fieldsOf sync.Map // reflect.Type to []int

type binWriter struct{ buf []byte }

func (w *binWriter) uvarint(u uint64) { w.buf = binary.AppendUvarint(w.buf, u) }

func (w *binWriter) str(s string) {
	w.uvarint(uint64(len(s)))
	w.buf = append(w.buf, s...)
}

func (w *binWriter) value(v reflect.Value) error {
	switch v.Kind() {
	case reflect.Bool:
		if v.Bool() {
			w.uvarint(1)
		} else {
			w.uvarint(0)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		w.buf = binary.AppendVarint(w.buf, v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		w.uvarint(v.Uint())
	case reflect.Float32, reflect.Float64:
		w.uvarint(math.Float64bits(v.Float()))
	case reflect.String:
		w.str(v.String())
	case reflect.Pointer:
		if v.IsNil() {
			w.uvarint(0)
			return nil
		}
		w.uvarint(1)
		return w.value(v.Elem())
	case reflect.Slice:
		if v.IsNil() {
			w.uvarint(0)
			return nil
		}
		w.uvarint(uint64(v.Len()) + 1)
		for i := range v.Len() {
			if err := w.value(v.Index(i)); err != nil {
				return err
			}
		}
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			return fmt.Errorf("manifest cache: cannot encode %s", v.Type())
		}
		if v.IsNil() {
			w.uvarint(0)
			return nil
		}
		w.uvarint(uint64(v.Len()) + 1)
		for it := v.MapRange(); it.Next(); {
			w.str(it.Key().String())
			if err := w.value(it.Value()); err != nil {
				return err
			}
		}
	case reflect.Struct:
		fields := exportedFields(v.Type())
		set := 0
		for _, i := range fields {
			if !v.Field(i).IsZero() {
				set++
			}
		}
		w.uvarint(uint64(set))
		for k, i := range fields {
			if f := v.Field(i); !f.IsZero() {
				w.uvarint(uint64(k))
				if err := w.value(f); err != nil {
					return err
				}
			}
		}
	default:
		return fmt.Errorf("manifest cache: cannot encode %s", v.Type())
	}
	return nil
}

// binReader reads what binWriter wrote. Strings are slices of one string
// holding the whole input, so reading them allocates nothing; anything
// that does not fit (a length past the end, a bad varint) is
// errBinCorrupt, and the cache is then not used.
type binReader struct {
	s   string
	err error
}

func (r *binReader) fail() {
	if r.err == nil {
		r.err = errBinCorrupt
	}
	r.s = ""
}

func (r *binReader) uvarint() uint64 {
	var u uint64
	for shift := uint(0); shift < 64; shift += 7 {
		if len(r.s) == 0 {
			break
		}
		b := r.s[0]
		r.s = r.s[1:]
		u |= uint64(b&0x7f) << shift
		if b < 0x80 {
			return u
		}
	}
	r.fail()
	return 0
}

func (r *binReader) varint() int64 {
	u := r.uvarint()
	return int64(u>>1) ^ -int64(u&1)
}

// count reads a length (of a string, or of a slice or map plus one) that
// cannot be larger than what is left: every element takes a byte at least.
func (r *binReader) count() int {
	n := r.uvarint()
	if n > uint64(len(r.s))+1 {
		r.fail()
		return 0
	}
	return int(n)
}

func (r *binReader) str() string {
	n := r.count()
	if n > len(r.s) {
		r.fail()
		return ""
	}
	s := r.s[:n]
	r.s = r.s[n:]
	return s
}

func (r *binReader) value(v reflect.Value) {
	if r.err != nil {
		return
	}
	switch v.Kind() {
	case reflect.Bool:
		v.SetBool(r.uvarint() != 0)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(r.varint())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(r.uvarint())
	case reflect.Float32, reflect.Float64:
		v.SetFloat(math.Float64frombits(r.uvarint()))
	case reflect.String:
		v.SetString(r.str())
	case reflect.Pointer:
		if r.uvarint() == 0 {
			return
		}
		p := reflect.New(v.Type().Elem())
		r.value(p.Elem())
		v.Set(p)
	case reflect.Slice:
		n := r.count()
		if n == 0 {
			return
		}
		s := reflect.MakeSlice(v.Type(), n-1, n-1)
		for i := range n - 1 {
			r.value(s.Index(i))
		}
		v.Set(s)
	case reflect.Map:
		n := r.count()
		if n == 0 {
			return
		}
		m := reflect.MakeMapWithSize(v.Type(), n-1)
		// One key and one element, set for each entry: SetMapIndex
		// copies both into the map (a key and an element allocated per
		// entry took 8 KB of a manifest of 100 services).
		k := reflect.New(v.Type().Key()).Elem()
		e := reflect.New(v.Type().Elem()).Elem()
		for range n - 1 {
			k.SetString(r.str())
			e.SetZero()
			r.value(e)
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	case reflect.Struct:
		fields := exportedFields(v.Type())
		for n := r.count(); n > 0 && r.err == nil; n-- {
			k := r.uvarint()
			if k >= uint64(len(fields)) {
				r.fail()
				return
			}
			r.value(v.Field(fields[k]))
		}
	default:
		r.err = fmt.Errorf("manifest cache: cannot decode %s", v.Type())
	}
}

package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// elfDeps reads what the demo's rootfs needs from an ELF executable or
// library: its interpreter (PT_INTERP) and the libraries it names
// (DT_NEEDED), from the program headers alone. debug/elf does this too, but
// linking it (with debug/dwarf and internal/zstd) cost every berth run their
// initialisation, for a step of the demo.
func elfDeps(path string) (interp string, needed []string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return "", nil, err
	}
	defer f.Close()
	e, err := openELF(f)
	if err != nil {
		return "", nil, err
	}
	segs, err := e.segments()
	if err != nil {
		return "", nil, err
	}
	if segs.dynSize == 0 {
		return segs.interp, nil, nil
	}
	needed, err = e.needed(segs)
	if err != nil {
		return "", nil, err
	}
	return segs.interp, needed, nil
}

// elfFile is an ELF file's identification: its byte order and class.
type elfFile struct {
	f    *os.File
	bo   binary.ByteOrder
	is64 bool
}

func openELF(f *os.File) (*elfFile, error) {
	var ident [16]byte
	if _, err := f.ReadAt(ident[:], 0); err != nil {
		return nil, fmt.Errorf("not an ELF file: %w", err)
	}
	if string(ident[:4]) != "\x7fELF" {
		return nil, errors.New("not an ELF file")
	}
	e := &elfFile{f: f, is64: ident[4] == 2}
	switch ident[5] {
	case 1:
		e.bo = binary.LittleEndian
	case 2:
		e.bo = binary.BigEndian
	default:
		return nil, errors.New("ELF file of unknown byte order")
	}
	if !e.is64 && ident[4] != 1 {
		return nil, errors.New("ELF file of unknown class")
	}
	return e, nil
}

// word reads an address or offset: 8 bytes or 4.
func (e *elfFile) word(b []byte) uint64 {
	if e.is64 {
		return e.bo.Uint64(b)
	}
	return uint64(e.bo.Uint32(b))
}

type elfLoad struct{ vaddr, off, size uint64 }

// elfSegments is what the program headers say: the loaded segments, the
// dynamic section's place and the interpreter.
type elfSegments struct {
	loads           []elfLoad
	dynOff, dynSize uint64
	interp          string
}

func (e *elfFile) segments() (elfSegments, error) {
	var segs elfSegments
	bo, f := e.bo, e.f
	hdr := make([]byte, 64)
	if n, err := f.ReadAt(hdr, 0); n < 52 || (e.is64 && n < 64) {
		return segs, fmt.Errorf("ELF header: %w", err)
	}
	var phoff uint64
	var phentsize, phnum int
	if e.is64 {
		phoff, phentsize, phnum = bo.Uint64(hdr[32:]), int(bo.Uint16(hdr[54:])), int(bo.Uint16(hdr[56:]))
	} else {
		phoff, phentsize, phnum = uint64(bo.Uint32(hdr[28:])), int(bo.Uint16(hdr[42:])), int(bo.Uint16(hdr[44:]))
	}
	if phnum == 0xffff || (e.is64 && phentsize < 56) || (!e.is64 && phentsize < 32) {
		return segs, errors.New("ELF program headers of an unexpected form")
	}
	phs := make([]byte, phnum*phentsize)
	if _, err := f.ReadAt(phs, int64(phoff)); err != nil {
		return segs, fmt.Errorf("ELF program headers: %w", err)
	}
	for i := 0; i < phnum; i++ {
		ph := phs[i*phentsize:]
		typ := bo.Uint32(ph)
		var off, vaddr, filesz uint64
		if e.is64 {
			off, vaddr, filesz = bo.Uint64(ph[8:]), bo.Uint64(ph[16:]), bo.Uint64(ph[32:])
		} else {
			off, vaddr, filesz = uint64(bo.Uint32(ph[4:])), uint64(bo.Uint32(ph[8:])), uint64(bo.Uint32(ph[16:]))
		}
		switch typ {
		case 1: // PT_LOAD
			segs.loads = append(segs.loads, elfLoad{vaddr, off, filesz})
		case 2: // PT_DYNAMIC
			segs.dynOff, segs.dynSize = off, filesz
		case 3: // PT_INTERP
			b := make([]byte, filesz)
			if _, err := f.ReadAt(b, int64(off)); err != nil {
				return segs, fmt.Errorf("ELF interpreter: %w", err)
			}
			segs.interp = string(bytes.TrimRight(b, "\x00"))
		}
	}
	return segs, nil
}

// needed reads the DT_NEEDED names of the dynamic section, from the string
// table found through the loaded segment that holds its address.
func (e *elfFile) needed(segs elfSegments) ([]string, error) {
	dyn := make([]byte, segs.dynSize)
	if _, err := e.f.ReadAt(dyn, int64(segs.dynOff)); err != nil {
		return nil, fmt.Errorf("ELF dynamic section: %w", err)
	}
	entry := 16
	if !e.is64 {
		entry = 8
	}
	var strtab uint64
	var names []uint64
	for i := 0; i+entry <= len(dyn); i += entry {
		tag, val := e.word(dyn[i:]), e.word(dyn[i+entry/2:])
		if tag == 0 { // DT_NULL
			break
		}
		switch tag {
		case 1: // DT_NEEDED
			names = append(names, val)
		case 5: // DT_STRTAB, an address
			strtab = val
		}
	}
	if len(names) == 0 {
		return nil, nil
	}
	strOff, ok := uint64(0), false
	for _, l := range segs.loads {
		if strtab >= l.vaddr && strtab < l.vaddr+l.size {
			strOff, ok = strtab-l.vaddr+l.off, true
			break
		}
	}
	if !ok {
		return nil, errors.New("ELF string table outside the loaded segments")
	}
	var needed []string
	for _, n := range names {
		s, err := readCString(e.f, int64(strOff+n))
		if err != nil {
			return nil, fmt.Errorf("ELF library name: %w", err)
		}
		needed = append(needed, s)
	}
	return needed, nil
}

func readCString(r io.ReaderAt, off int64) (string, error) {
	var out []byte
	buf := make([]byte, 64)
	for {
		n, err := r.ReadAt(buf, off)
		if i := bytes.IndexByte(buf[:n], 0); i >= 0 {
			return string(append(out, buf[:i]...)), nil
		}
		if err != nil {
			return "", err
		}
		out = append(out, buf[:n]...)
		off += int64(n)
	}
}

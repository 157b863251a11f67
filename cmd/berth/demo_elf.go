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
	var ident [16]byte
	if _, err := f.ReadAt(ident[:], 0); err != nil {
		return "", nil, fmt.Errorf("not an ELF file: %w", err)
	}
	if string(ident[:4]) != "\x7fELF" {
		return "", nil, errors.New("not an ELF file")
	}
	var bo binary.ByteOrder
	switch ident[5] {
	case 1:
		bo = binary.LittleEndian
	case 2:
		bo = binary.BigEndian
	default:
		return "", nil, errors.New("ELF file of unknown byte order")
	}
	is64 := ident[4] == 2
	if !is64 && ident[4] != 1 {
		return "", nil, errors.New("ELF file of unknown class")
	}
	word := func(b []byte) uint64 { // an address or offset: 8 bytes or 4
		if is64 {
			return bo.Uint64(b)
		}
		return uint64(bo.Uint32(b))
	}
	hdr := make([]byte, 64)
	if n, err := f.ReadAt(hdr, 0); n < 52 || (is64 && n < 64) {
		return "", nil, fmt.Errorf("ELF header: %w", err)
	}
	var phoff uint64
	var phentsize, phnum int
	if is64 {
		phoff, phentsize, phnum = bo.Uint64(hdr[32:]), int(bo.Uint16(hdr[54:])), int(bo.Uint16(hdr[56:]))
	} else {
		phoff, phentsize, phnum = uint64(bo.Uint32(hdr[28:])), int(bo.Uint16(hdr[42:])), int(bo.Uint16(hdr[44:]))
	}
	if phnum == 0xffff || (is64 && phentsize < 56) || (!is64 && phentsize < 32) {
		return "", nil, errors.New("ELF program headers of an unexpected form")
	}
	phs := make([]byte, phnum*phentsize)
	if _, err := f.ReadAt(phs, int64(phoff)); err != nil {
		return "", nil, fmt.Errorf("ELF program headers: %w", err)
	}
	type load struct{ vaddr, off, size uint64 }
	var loads []load
	var dynOff, dynSize uint64
	for i := 0; i < phnum; i++ {
		ph := phs[i*phentsize:]
		typ := bo.Uint32(ph)
		var off, vaddr, filesz uint64
		if is64 {
			off, vaddr, filesz = bo.Uint64(ph[8:]), bo.Uint64(ph[16:]), bo.Uint64(ph[32:])
		} else {
			off, vaddr, filesz = uint64(bo.Uint32(ph[4:])), uint64(bo.Uint32(ph[8:])), uint64(bo.Uint32(ph[16:]))
		}
		switch typ {
		case 1: // PT_LOAD
			loads = append(loads, load{vaddr, off, filesz})
		case 2: // PT_DYNAMIC
			dynOff, dynSize = off, filesz
		case 3: // PT_INTERP
			b := make([]byte, filesz)
			if _, err := f.ReadAt(b, int64(off)); err != nil {
				return "", nil, fmt.Errorf("ELF interpreter: %w", err)
			}
			interp = string(bytes.TrimRight(b, "\x00"))
		}
	}
	if dynSize == 0 {
		return interp, nil, nil
	}
	dyn := make([]byte, dynSize)
	if _, err := f.ReadAt(dyn, int64(dynOff)); err != nil {
		return "", nil, fmt.Errorf("ELF dynamic section: %w", err)
	}
	entry := 16
	if !is64 {
		entry = 8
	}
	var strtab uint64
	var names []uint64
	for i := 0; i+entry <= len(dyn); i += entry {
		tag, val := word(dyn[i:]), word(dyn[i+entry/2:])
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
		return interp, nil, nil
	}
	strOff, ok := uint64(0), false
	for _, l := range loads {
		if strtab >= l.vaddr && strtab < l.vaddr+l.size {
			strOff, ok = strtab-l.vaddr+l.off, true
			break
		}
	}
	if !ok {
		return "", nil, errors.New("ELF string table outside the loaded segments")
	}
	for _, n := range names {
		s, err := readCString(f, int64(strOff+n))
		if err != nil {
			return "", nil, fmt.Errorf("ELF library name: %w", err)
		}
		needed = append(needed, s)
	}
	return interp, needed, nil
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

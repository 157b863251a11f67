// Command faultcost prints what this machine charges for the first touch of
// a page of fresh memory, the cost that decides how long any Go program
// takes to start here: a program's start-up is mostly the pages its runtime,
// its packages' initialisation and its first allocations touch. On some
// virtual machines (Firecracker guests among them) a first touch costs
// 5-10 µs, on others well under 1 µs, and every start-up ratio measured
// against a hello world moves with it. hack/bench-floor.sh and
// hack/bench-short.sh print its line first.
//
//	faultcost [-mib N]   (default 64)
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	mib := flag.Int("mib", 64, "MiB of fresh memory to touch")
	flag.Parse()
	size := *mib << 20
	page := os.Getpagesize()
	mem, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		fmt.Fprintln(os.Stderr, "faultcost:", err)
		os.Exit(1)
	}
	// Huge pages would make this one fault per 2 MiB: ask for small ones,
	// as a short program's heap gets.
	_ = unix.Madvise(mem, unix.MADV_NOHUGEPAGE)
	t0 := time.Now()
	for i := 0; i < size; i += page {
		mem[i] = 1
	}
	first := time.Since(t0)
	t0 = time.Now()
	for i := 0; i < size; i += page {
		mem[i] = 2
	}
	again := time.Since(t0)
	pages := size / page
	fmt.Printf("first touch of a fresh %d KiB page: %.2f µs (%d pages; a page already touched: %.3f µs)\n",
		page>>10, float64(first.Nanoseconds())/float64(pages)/1000, pages, float64(again.Nanoseconds())/float64(pages)/1000)
}

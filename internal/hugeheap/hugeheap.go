// Package hugeheap backs the start of berth's heap with transparent huge
// pages. Import it (for its side effect) from a main package: it does its
// work in init, before the packages that allocate most at start.
//
// Why: a berth run is short, and on virtual machines such as the Firecracker
// guests berth is developed on, the first touch of each 4 KiB page of fresh
// memory costs 10-20 µs. Before main, the initialisation of linked packages
// (the Docker client's distribution/reference and go-digest, Masterminds/
// semver: regular expressions compiled at init) touches about 1.9 MB of
// heap, page by page: some 490 page faults, half of berth --version's
// system time. One 2 MiB huge page costs about one fault (its zeroing
// included, 0.15-0.7 ms measured here against 6-13 ms for 490 small faults).
//
// Go's runtime no longer asks for huge pages itself (it stopped in Go 1.21.1,
// for long-running programs with sparse heaps), and where the system's THP
// mode is "madvise" (the default of most distributions) memory gets huge
// pages only when advised. So init advises the heap memory the runtime has
// mapped so far, collapses the 2 MiB around the heap's current end (pages
// already touched are copied into the huge page), and, when less than 2 MiB
// of the mapped chunk is left, makes the runtime map its next chunk at once
// (by allocating the rest of this one) so that it can be advised too.
//
// All of it is advice: the kernel may refuse it (a kernel without
// MADV_COLLAPSE, no huge page free) and berth then runs exactly as without
// it. Nothing is asked where the system's THP mode is "never" or under
// GODEBUG=disablethp=1, and BERTH_HUGEHEAP=0 turns it off.
package hugeheap

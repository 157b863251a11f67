package runtime

import (
	goruntime "runtime"
	"sync"
)

// partsFor is how many parts n items of local work are split into: one per
// processor, each of at least share items. Local inspections (a PID file
// and two /proc files, tens of microseconds each) are run in turn within a
// part: a goroutine per inspection costs more than it saves, but a status
// or a stop plan of many services takes about half the time in two parts
// where a second core is free.
func partsFor(n, share int) int {
	return max(1, min(goruntime.GOMAXPROCS(0), n/share))
}

// inParts calls part for the ranges [lo, hi) of [0, n) split in
// partsFor(n, share) parts, the first on the calling goroutine, and
// returns when every part has returned.
func inParts(n, share int, part func(lo, hi int)) {
	parts := partsFor(n, share)
	var wg sync.WaitGroup
	for i := 1; i < parts; i++ {
		lo, hi := i*n/parts, (i+1)*n/parts
		wg.Go(func() { part(lo, hi) })
	}
	part(0, n/parts)
	wg.Wait()
}

// localShare is the fewest local inspections worth a part of their own.
const localShare = 16

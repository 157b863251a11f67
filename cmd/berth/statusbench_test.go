package main

import (
	"context"
	"io"
	"os"
	"syscall"
	"testing"
	"time"
)

// BenchmarkStatusEnv times `status` in this process, again and again, on
// the environment BERTH_BENCH_ENV names (one already started, such as
// hack/bench-floor.sh's 100 services): what status does of its own once
// the process runs, without the start-up every command pays and without
// the page faults of a fresh process, so builds compare on a machine whose
// faults are dear. Besides time and allocations it reports the process's
// CPU time (user and system, all threads) per status:
//
//	BERTH_BENCH_ENV=/path/to/env go test -run '^$' -bench StatusEnv -benchtime 300x ./cmd/berth/
func BenchmarkStatusEnv(b *testing.B) {
	dir := os.Getenv("BERTH_BENCH_ENV")
	if dir == "" {
		b.Skip("BERTH_BENCH_ENV names no environment")
	}
	b.ReportAllocs()
	c0, n := cpuTime(), 0
	for b.Loop() {
		n++
		g := &globalOptions{envDir: dir, streams: newStreams(nil, io.Discard, io.Discard)}
		if err := runStatus(context.Background(), g, nil, &statusOptions{output: string(outputText)}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime()-c0)/float64(n)/1e3, "cpu-µs/op")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

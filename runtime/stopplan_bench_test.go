package runtime_test

import (
	"context"
	"testing"

	"github.com/berthdev/berth/runtime"
)

// BenchmarkPlanStop100 is the plan of a stop all of 100 running process
// services: what a stop does before its first request.
func BenchmarkPlanStop100(b *testing.B) {
	ctx := context.Background()
	m, _ := countingEnv(b, 100)
	if _, err := m.Start(ctx, []string{"all"}, runtime.StartRequest{Parallel: 8}); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := m.PlanStop(ctx, []string{"all"}, runtime.StopRequest{}); err != nil {
			b.Fatal(err)
		}
	}
}

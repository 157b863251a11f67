package metadata

import (
	"os"
	"testing"
)

func BenchmarkParseManifest100(b *testing.B) {
	data, err := os.ReadFile("/tmp/st/env100/berth.yaml")
	if err != nil {
		b.Skip(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseManifest("/tmp/st/env100/berth.yaml", data, true); err != nil {
			b.Fatal(err)
		}
	}
}

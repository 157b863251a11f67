package metadata

import (
	"syscall"
	"testing"
)

// TestSignalNamesRoundTrip: the one signal table reads and prints alike.
func TestSignalNamesRoundTrip(t *testing.T) {
	for name := range signalNames {
		sig, err := ParseSignal("SIG" + name)
		if err != nil || SignalName(sig) != name {
			t.Errorf("%s: parsed %v (%v), printed %q", name, sig, err, SignalName(sig))
		}
	}
	if got := SignalName(syscall.Signal(40)); got != "40" {
		t.Errorf("a signal without a name printed %q, want its number", got)
	}
}

package runtime

import (
	"errors"
	"fmt"
	"testing"
)

// The services that failed to stop for one same reason are one line of
// the stop's error, the reason said once; each result keeps its own.
func TestStopFailuresOfOneCauseAreOneLine(t *testing.T) {
	cause := errors.New("the supervisor is of another build: run `berth supervisor replace`")
	var results []StopResult
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		results = append(results, StopResult{Name: n, Err: fmt.Errorf("failed to stop '%s': %w", n, cause)})
	}
	results = append(results, StopResult{Name: "f", Err: fmt.Errorf("failed to stop 'f': %w", errors.New("it ignored TERM"))},
		StopResult{Name: "g"})
	err := joinStopErrors(results)
	want := "failed to stop 'a', 'b', 'c' and 2 more (5 services): " + cause.Error() + "\nfailed to stop 'f': it ignored TERM"
	if err == nil || err.Error() != want {
		t.Fatalf("joined: %v\nwant: %s", err, want)
	}
	if !errors.Is(err, cause) {
		t.Errorf("the joined error does not wrap its cause")
	}
	two := joinStopErrors(results[:2])
	if two == nil || two.Error() != "failed to stop 'a', 'b' (2 services): "+cause.Error() {
		t.Errorf("two of one cause: %v", two)
	}
	if one := joinStopErrors(results[5:]); one == nil || one.Error() != "failed to stop 'f': it ignored TERM" {
		t.Errorf("one failure: %v", one)
	}
}

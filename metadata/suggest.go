package metadata

import (
	"fmt"
	"strings"
)

// UnknownServiceError is a service name the manifest does not have. It
// suggests the nearest name, as a mistyped command gets one.
type UnknownServiceError struct {
	Name     string
	Services []string
	// Suggestion is the nearest service name, or empty when none is near.
	Suggestion string
}

func (e *UnknownServiceError) Error() string {
	msg := fmt.Sprintf("unknown service %q", e.Name)
	if e.Suggestion != "" {
		msg += fmt.Sprintf(": did you mean %q?", e.Suggestion)
	}
	return msg + fmt.Sprintf(" (services: %s)", strings.Join(e.Services, ", "))
}

// UnknownService is the error for a name that is not one of m's services.
func (m *Manifest) UnknownService(name string) error {
	return &UnknownServiceError{Name: name, Services: m.ServiceOrder, Suggestion: Nearest(name, m.ServiceOrder)}
}

// Nearest is the candidate closest to s by edit distance (a swap of two
// neighbouring letters counts once), when it is close enough to be a typo:
// at most 2 edits and fewer than half of s's letters. A candidate that s
// begins or ends is near too. Ties go to the earlier candidate.
func Nearest(s string, candidates []string) string {
	best, bestD := "", -1
	for _, c := range candidates {
		d := editDistance(s, c)
		near := d <= 2 && 2*d < len(s)
		near = near || len(s) >= 2 && (strings.HasPrefix(c, s) || strings.HasSuffix(c, s))
		if near && (bestD < 0 || d < bestD) {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the optimal string alignment distance between a and b:
// insertions, deletions, substitutions and swaps of adjacent letters.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

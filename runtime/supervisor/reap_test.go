package supervisor

import (
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/berthdev/berth/runtime/process"
)

// A burst of SIGCHLD (the exits of a stop all) makes a few reaps of
// orphans, not one each, and the last comes after the last signal; a
// SIGCHLD after a quiet time is answered at once.
func TestReapsOfABurstOfExits(t *testing.T) {
	var mu sync.Mutex
	var reaps []time.Time
	// The count is the supervisor's own: a package variable swapped here
	// raced with the supervisors other tests leave running (-count=3).
	s := &Supervisor{cfg: Config{Logf: func(string, ...any) {}}, reapOrphans: func() []process.Reaped {
		mu.Lock()
		reaps = append(reaps, time.Now())
		mu.Unlock()
		return nil
	}}
	sigs := make(chan os.Signal, 1)
	done := make(chan struct{})
	go func() { s.signals(sigs); close(done) }()
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(reaps) }

	start := time.Now()
	sigs <- syscall.SIGCHLD
	for count() == 0 && time.Since(start) < time.Second {
		time.Sleep(100 * time.Microsecond)
	}
	if d := time.Since(start); d > reapGap/2 {
		t.Fatalf("a lone SIGCHLD was answered after %v", d)
	}
	time.Sleep(2 * reapGap)

	before := count()
	var lastSig time.Time
	burst := time.Now()
	for range 100 {
		sigs <- syscall.SIGCHLD
		lastSig = time.Now()
		time.Sleep(500 * time.Microsecond)
	}
	took := time.Since(burst)
	time.Sleep(3 * reapGap)
	close(sigs)
	<-done
	mu.Lock()
	defer mu.Unlock()
	n := len(reaps) - before
	if most := int(took/reapGap) + 2; n > most || n < 2 {
		t.Errorf("100 SIGCHLD over %v made %d reaps, want 2 to %d", took, n, most)
	}
	if last := reaps[len(reaps)-1]; last.Before(lastSig) {
		t.Errorf("the last reap (%v) came before the last SIGCHLD (%v)", last, lastSig)
	}
}

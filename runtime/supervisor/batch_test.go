package supervisor

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// watchBatches records the number of callers of each joined batch.
func watchBatches(t *testing.T) func() []int {
	var mu sync.Mutex
	var got []int
	f := func(n int) { mu.Lock(); got = append(got, n); mu.Unlock() }
	onBatch.Store(&f)
	t.Cleanup(func() { onBatch.Store(nil) })
	return func() []int { mu.Lock(); defer mu.Unlock(); return slices.Clone(got) }
}

// waitQueued returns once n callers wait in q's next batch.
func waitQueued(t *testing.T, q *batcher, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		q.mu.Lock()
		queued := 0
		if q.next != nil {
			queued = q.next.n
		}
		q.mu.Unlock()
		if queued == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d callers queued, want %d", queued, n)
		}
	}
}

// The callers that come while a write is under way are one write, made
// once it ends, in the order they came; each returns once its bytes are
// written, with that write's error. A caller alone writes at once.
func TestBatcherJoinsTheWritesThatComeDuringOne(t *testing.T) {
	batches := watchBatches(t)
	var q batcher
	var mu sync.Mutex
	var writes []string
	release := make(chan struct{})
	failed := errors.New("disk full")
	write := func(b []byte) error {
		mu.Lock()
		writes = append(writes, string(b))
		first := len(writes) == 1
		mu.Unlock()
		if first {
			<-release
			return nil
		}
		return failed
	}
	done := make(chan error, 4)
	go func() { done <- q.do([]byte("a;"), write) }()
	for {
		mu.Lock()
		n := len(writes)
		mu.Unlock()
		if n == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	for i, b := range []string{"b;", "c;", "d;"} {
		go func() { done <- q.do([]byte(b), write) }()
		waitQueued(t, &q, i+1)
	}
	select {
	case err := <-done:
		t.Fatalf("a caller returned (%v) before its bytes were written", err)
	default:
	}
	close(release)
	var errs []error
	for range 4 {
		errs = append(errs, <-done)
	}
	if want := []string{"a;", "b;c;d;"}; !slices.Equal(writes, want) {
		t.Errorf("writes %q, want %q", writes, want)
	}
	if got := batches(); !slices.Equal(got, []int{3}) {
		t.Errorf("joined batches of %v callers, want [3]", got)
	}
	if n := len(slices.DeleteFunc(errs, func(err error) bool { return err == nil })); n != 3 {
		t.Errorf("errors %v: want the joined write's error for its 3 callers, none for the first", errs)
	}
	if err := q.do([]byte("e;"), func(b []byte) error { writes = append(writes, string(b)); return nil }); err != nil || writes[len(writes)-1] != "e;" {
		t.Errorf("a caller alone: %v, writes %q", err, writes)
	}
}

// The answers a supervisor sends while another is being written go out in
// one write, each whole and on a line of its own.
func TestAnswersSentDuringAWriteAreOneWrite(t *testing.T) {
	batches := watchBatches(t)
	a, b := socketPair(t)
	c := newConn(a)
	c.wmu.Lock() // the first answer's write waits here
	done := make(chan error, 11)
	go func() { done <- c.write([]byte(`{"id":0}`), nil) }()
	for {
		c.out.mu.Lock()
		writing := c.out.writing
		c.out.mu.Unlock()
		if writing {
			break
		}
		time.Sleep(time.Millisecond)
	}
	for i := 1; i <= 10; i++ {
		go func() { done <- c.write([]byte(fmt.Sprintf(`{"id":%d}`, i)), nil) }()
	}
	waitQueued(t, &c.out, 10)
	c.wmu.Unlock()
	for range 11 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if got := batches(); !slices.Equal(got, []int{10}) {
		t.Errorf("joined batches of %v answers, want [10]", got)
	}
	r := bufio.NewReader(b)
	seen := map[string]bool{}
	for i := range 11 {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 && line != "{\"id\":0}\n" {
			t.Errorf("first line %q, want the answer written first", line)
		}
		seen[line] = true
	}
	if len(seen) != 11 {
		t.Errorf("%d distinct answers, want 11", len(seen))
	}
}

// The events appended while an append of the same log is under way are
// one write of whole lines, and each append returns once its line is in
// the log.
func TestEventsAppendedDuringAnAppendAreOneWrite(t *testing.T) {
	batches := watchBatches(t)
	p := PathsOf(t.TempDir())
	q := eventLog(p.Events)
	release := make(chan struct{})
	held := make(chan error)
	go func() {
		held <- q.do(nil, func(b []byte) error { <-release; return appendLines(p, b) })
	}()
	for {
		q.mu.Lock()
		writing := q.writing
		q.mu.Unlock()
		if writing {
			break
		}
		time.Sleep(time.Millisecond)
	}
	const n = 20
	done := make(chan error, n)
	for i := range n {
		go func() {
			done <- AppendEvent(p, Event{Service: fmt.Sprintf("s%03d", i), Kind: EventStopped, PID: 100 + i, Reason: "by user"})
		}()
	}
	waitQueued(t, q, n)
	if _, err := os.Stat(p.Events); err == nil {
		t.Fatal("the log was written while its first append was held")
	}
	close(release)
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	for range n {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if got := batches(); !slices.Equal(got, []int{n}) {
		t.Errorf("joined batches of %v events, want [%d]", got, n)
	}
	data, _ := os.ReadFile(p.Events)
	evs, err := ReadEvents(p, nil, time.Time{})
	if err != nil || len(evs) != n || strings.Count(string(data), "\n") != n {
		t.Fatalf("%d events read (%v), %d lines, want %d", len(evs), err, strings.Count(string(data), "\n"), n)
	}
}

// socketPair is a connected pair of Unix stream sockets.
func socketPair(t *testing.T) (*net.UnixConn, *net.UnixConn) {
	t.Helper()
	dir, err := os.MkdirTemp("", "bt")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: dir + "/s", Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan *net.UnixConn, 1)
	go func() {
		c, _ := l.AcceptUnix()
		accepted <- c
	}()
	a, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: dir + "/s", Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	b := <-accepted
	if b == nil {
		t.Fatal("no connection accepted")
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

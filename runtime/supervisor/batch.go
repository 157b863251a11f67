package supervisor

import (
	"sync"
	"sync/atomic"
)

// batcher joins into one write the writes that callers make while
// another caller's write is under way (a group commit): the 100 exits of
// a stop all come together, and each wrote its event (an open, a write, a
// stat and a close of the log) and its answer (a write to the command,
// which woke the command's reader) on its own. A caller that finds no
// write under way writes its own bytes at once, without copying them;
// one that finds one adds its bytes to the next batch and waits for the
// write that carries them. Either returns only once its bytes are
// written, with the error of the write that carried them, as before.
// Bytes are written in the order their callers came. Every caller of one
// batcher passes the same write (the caller that writes writes the
// others' bytes with its own).
type batcher struct {
	mu      sync.Mutex
	writing bool
	next    *batch
}

// batch is bytes waiting for the write under way to end.
type batch struct {
	buf  []byte
	n    int // callers joined
	done chan struct{}
	err  error
}

// do writes b through write, alone or joined with the bytes of other
// callers (see batcher).
func (q *batcher) do(b []byte, write func([]byte) error) error {
	q.mu.Lock()
	if q.writing {
		bt := q.next
		if bt == nil {
			bt = &batch{done: make(chan struct{})}
			q.next = bt
		}
		bt.buf = append(bt.buf, b...)
		bt.n++
		q.mu.Unlock()
		<-bt.done
		return bt.err
	}
	q.writing = true
	q.mu.Unlock()
	err := write(b)
	// The batches made while this write was under way are written next by
	// this caller, one write each, until none is left.
	q.mu.Lock()
	for q.next != nil {
		bt := q.next
		q.next = nil
		q.mu.Unlock()
		if f := onBatch.Load(); f != nil {
			(*f)(bt.n)
		}
		bt.err = write(bt.buf)
		close(bt.done)
		q.mu.Lock()
	}
	q.writing = false
	q.mu.Unlock()
	return err
}

// onBatch, when set (by tests), is told the number of callers of each
// joined batch as it is written.
var onBatch atomic.Pointer[func(n int)]

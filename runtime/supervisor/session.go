package supervisor

import (
	"errors"
	"fmt"
	"os"
	"sync"
)

// clientSession is a client's one connection to its supervisor: every
// start, wait and stop of a command is a request on it, each with its own
// ID, answered as it ends (see Protocol).
type clientSession struct {
	cn      *conn
	version string

	// env is guarded by cn's write lock.
	env envBase

	mu   sync.Mutex
	next uint64
	open map[uint64]chan Response
	dead bool
	// refused is the VersionError of a supervisor of another build that
	// answered on this session: the requests it leaves unanswered when it
	// ends fail with it too, not as a supervisor gone away.
	refused *VersionError
}

// refusal is the VersionError the session ended with, or nil.
func (ss *clientSession) refusal() *VersionError {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.refused
}

// ticket is one request of a session, open until end: its answers, and
// what the client sends about it later (settle, cancel).
type ticket struct {
	ss      *clientSession
	id      uint64
	answers chan Response // closed if the session ends first
}

func (t *ticket) send(req Request) error {
	req.ID, req.Protocol, req.Version = t.id, Protocol, t.ss.version
	return t.ss.cn.sendRequest(req, &t.ss.env)
}

// end forgets the request: a later answer to it is dropped.
func (t *ticket) end() {
	if t == nil {
		return
	}
	t.ss.mu.Lock()
	delete(t.ss.open, t.id)
	t.ss.mu.Unlock()
}

// session returns the client's session, opening it on first use or after
// the last one ended; with spawn (a start), a supervisor is started if
// none runs, otherwise that is ErrNotRunning.
func (c *Client) session(spawn bool) (*clientSession, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sess != nil && !c.sess.ended() {
		return c.sess, nil
	}
	if spawn {
		if err := c.Ensure(); err != nil {
			return nil, err
		}
	}
	uc, err := dial(c.Paths.Socket)
	if err != nil {
		return nil, fmt.Errorf("%w (%v)", ErrNotRunning, err)
	}
	if uid, _, err := peerUID(uc); err != nil || uid != os.Geteuid() {
		uc.Close()
		return nil, fmt.Errorf("%s is served by uid %d, not this user: refusing it", c.Paths.Socket, uid)
	}
	ss := &clientSession{cn: newConn(uc), version: c.Version, open: map[uint64]chan Response{}}
	go ss.read()
	c.sess = ss
	return ss, nil
}

// fail ends the session at once: the next request opens another (the
// reader notices the closed connection only later).
func (ss *clientSession) fail() {
	ss.mu.Lock()
	ss.dead = true
	ss.mu.Unlock()
	ss.cn.Close()
}

func (ss *clientSession) ended() bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.dead
}

// read hands each answer to its request until the connection ends, then
// closes the answers of every request still open.
func (ss *clientSession) read() {
	for {
		var r Response
		if err := ss.cn.recv(&r); err != nil {
			break
		}
		ss.mu.Lock()
		if ss.refused == nil && fromAnotherBuild(r, ss.version) {
			ss.refused = versionError(r, ss.version)
		}
		ch := ss.open[r.ID]
		ss.mu.Unlock()
		if ch != nil {
			select {
			case ch <- r:
			default: // a request has at most two answers: none is left waiting
			}
		}
	}
	ss.mu.Lock()
	ss.dead = true
	for id, ch := range ss.open {
		close(ch)
		delete(ss.open, id)
	}
	ss.mu.Unlock()
	ss.cn.Close()
}

// open1 opens a request on the session: its ticket, whose answers the
// caller reads.
func (ss *clientSession) open1() (*ticket, error) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.dead {
		return nil, fmt.Errorf("%w (the connection ended)", ErrNotRunning)
	}
	ss.next++
	t := &ticket{ss: ss, id: ss.next, answers: make(chan Response, 2)}
	ss.open[t.id] = t.answers
	return t, nil
}

// request sends req on the session and returns its first answer, with the
// ticket that keeps the request open (the caller ends it).
func (c *Client) request(req Request) (*ticket, Response, error) {
	ss, err := c.session(req.Op == opStart)
	if err != nil {
		return nil, Response{}, err
	}
	t, err := ss.open1()
	if err != nil {
		return nil, Response{}, err
	}
	if err := t.send(req); err != nil {
		t.end()
		ss.fail()
		return nil, Response{}, fmt.Errorf("%w (%v)", ErrNotRunning, err)
	}
	resp, ok := <-t.answers
	if !ok {
		return nil, Response{}, fmt.Errorf("%w (the connection ended)", ErrNotRunning)
	}
	if err := c.answerError(resp); err != nil {
		t.end()
		var ve *VersionError
		if errors.As(err, &ve) || errors.Is(err, ErrNotRunning) {
			ss.fail() // a session with a supervisor that is exiting, or of another build
		}
		return nil, resp, err
	}
	return t, resp, nil
}

// fromAnotherBuild says whether resp comes from a supervisor of another
// build than ours (or refuses ours).
func fromAnotherBuild(resp Response, ours string) bool {
	return resp.Code == codeVersion || resp.Protocol != Protocol || resp.Version != ours
}

// answerError is the error an answer stands for, or nil.
func (c *Client) answerError(resp Response) error {
	switch {
	case fromAnotherBuild(resp, c.Version):
		return versionError(resp, c.Version)
	case resp.Code == codeClosing:
		return fmt.Errorf("%w (it is exiting)", ErrNotRunning)
	case resp.Code == codeUnknown:
		return errNotWatched
	case resp.Error != "":
		return errors.New(resp.Error)
	}
	return nil
}

// prepare opens the session, spawning a supervisor if none runs, in the
// background (Runner.PrepareStart).
func (c *Client) prepare() {
	c.preparing.Add(1)
	go func() {
		defer c.preparing.Done()
		c.session(true)
	}()
}

// Close ends the client's session, if it has one: its open requests end
// as if the command had exited. A session being opened in the background
// is waited for and ended too: a supervisor spawned for a start that ends
// before its first launch learns from that session's end that it is not
// needed, rather than waiting out its idle exit.
func (c *Client) Close() error {
	c.preparing.Wait()
	c.mu.Lock()
	ss, p := c.sess, c.prefetched
	c.sess, c.prefetched = nil, nil
	c.mu.Unlock()
	if p != nil && p.cn != nil {
		p.once.Do(func() { p.cn.Close() }) // a survey asked for and never read
	}
	if ss != nil {
		return ss.cn.Close()
	}
	return nil
}

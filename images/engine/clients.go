package engine

import (
	"context"
	"errors"
	"sync"
)

// Clients is one client per manifest host, made on first use and kept
// until Close. The zero Clients reaches every host ("" included) through
// the environment's endpoint; Endpoint maps host names to their endpoints.
type Clients struct {
	// Endpoint gives a host's endpoint ("" is the default daemon).
	Endpoint func(host string) (Endpoint, error)
	// Dial connects to an endpoint; NewClient when nil. Tests hand a fake.
	Dial func(ctx context.Context, ep Endpoint) (*Client, error)

	mu   sync.Mutex
	made map[string]*Client
}

// Get returns the client of host, connecting on first use.
func (cs *Clients) Get(ctx context.Context, host string) (*Client, error) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if c, ok := cs.made[host]; ok {
		return c, nil
	}
	ep := Endpoint{}
	if cs.Endpoint != nil {
		var err error
		if ep, err = cs.Endpoint(host); err != nil {
			return nil, err
		}
	}
	dial := cs.Dial
	if dial == nil {
		dial = NewClient
	}
	c, err := dial(ctx, ep)
	if err != nil {
		return nil, err
	}
	if cs.made == nil {
		cs.made = map[string]*Client{}
	}
	cs.made[host] = c
	return c, nil
}

// Close closes the clients made so far (an ssh:// client's connections are
// ssh processes, which would otherwise outlive berth's use of them). Clients
// may be used again after Close; they reconnect.
func (cs *Clients) Close() error {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	var errs []error
	for _, c := range cs.made {
		errs = append(errs, c.Close())
	}
	cs.made = nil
	return errors.Join(errs...)
}

// Package traffic sends and receives pings, UDP datagrams and TCP connections
// from inside a node's network namespace in pure Go.
package traffic

import (
	"context"
	"fmt"
	"net/netip"
	"sync"

	"github.com/xdplab/xdplab/internal/namespace"
)

// inNS runs open inside ns. A socket belongs to the namespace of the thread
// that created it, so once open returns, the socket can be used from any
// goroutine while still sending and receiving in ns.
func inNS[T any](ns *namespace.NS, open func() (T, error)) (T, error) {
	var v T
	err := ns.Do(func() error {
		var err error
		v, err = open()
		return err
	})
	return v, err
}

// ipv4Only rejects addresses the lab topologies do not carry: every lab is
// IPv4 and IPv6 is off in the namespaces.
func ipv4Only(a netip.Addr) (netip.Addr, error) {
	a = a.Unmap()
	if !a.Is4() {
		return a, fmt.Errorf("address %s: only IPv4 is supported", a)
	}
	return a, nil
}

// counter counts received items and lets callers wait for a number of them
// instead of sleeping and hoping.
type counter struct {
	mu      sync.Mutex
	n       int
	bytes   int
	changed chan struct{} // closed and replaced on every add
}

func newCounter() *counter { return &counter{changed: make(chan struct{})} }

func (c *counter) add(items, bytes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n += items
	c.bytes += bytes
	close(c.changed)
	c.changed = make(chan struct{})
}

func (c *counter) get() (n, bytes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n, c.bytes
}

func (c *counter) wait(ctx context.Context, n int) error {
	for {
		c.mu.Lock()
		got, changed := c.n, c.changed
		c.mu.Unlock()
		if got >= n {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("waiting for %d, got %d: %w", n, got, ctx.Err())
		}
	}
}

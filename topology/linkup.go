package topology

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/xdplab/xdplab/internal/namespace"
)

// linkUpWait bounds the wait for the kernel to bring a veth up. It takes
// microseconds on a quiet machine and seconds under a class's load; a
// minute means the kernel's link watcher is stuck, not slow.
const linkUpWait = time.Minute

// linkWatch receives the link notifications of one namespace.
//
// A veth end that is set up before its peer has no carrier yet, so the
// kernel leaves its transmit queue on a placeholder that drops every packet
// until its link watcher, a kernel worker that needs rtnl_mutex, has seen
// the carrier come on; the watcher then switches the queue to the real
// qdisc, marks the link operationally up, and only then notifies (in
// linkwatch_do_dev). (The peer, set up second, gets its carrier while it
// opens and is switched at once; the watcher marks it up later, up to a
// second later when it ran less than a second ago, so waiting for that
// would only slow every up down.) Packets sent before are lost, ARP requests included,
// and ARP retries only a second later: under the load of a class (300
// instances starting at once on two cores) the watcher ran more than a
// second after `up` had exited, and the first pings of `check` were lost,
// blamed on the learner's program. A notification that says "up" is
// therefore the sign that the link carries traffic.
type linkWatch struct {
	node    string
	ns      *namespace.NS
	updates chan netlink.LinkUpdate
	done    chan struct{}
}

// watchLinks subscribes to the link notifications of ns; subscribe before
// setting the links up, so that no notification is missed.
func watchLinks(node string, ns *namespace.NS) (*linkWatch, error) {
	w := &linkWatch{node: node, ns: ns, updates: make(chan netlink.LinkUpdate, 16), done: make(chan struct{})}
	// An error (a full socket) ends the notifications; waitUp polls on.
	opts := netlink.LinkSubscribeOptions{ErrorCallback: func(error) {}}
	// The socket belongs to the namespace of the thread that opens it.
	err := ns.Do(func() error { return netlink.LinkSubscribeWithOptions(w.updates, w.done, opts) })
	if err != nil {
		return nil, fmt.Errorf("watch the links of %s: %w", node, err)
	}
	return w, nil
}

// Close ends the subscription.
func (w *linkWatch) Close() {
	close(w.done)
	// The receiver may be blocked handing over a notification; it stops
	// once it finds its socket closed, and closes updates.
	for range w.updates {
	}
}

// linkPoll is how often waitUp also asks for the links' state itself: a
// node with many links can overflow the notification socket (ENOBUFS, seen
// with 128 veths in one namespace), and then the state is all there is.
const linkPoll = 20 * time.Millisecond

// waitUp waits until the kernel has reported every one of ifaces
// operationally up, or ctx ends. Notifications wake it at once; a poll of
// the links' state covers the ones a full socket lost.
func (w *linkWatch) waitUp(ctx context.Context, ifaces []string) error {
	start := time.Now()
	pending := map[string]bool{}
	for _, name := range ifaces {
		pending[name] = true
	}
	updates := w.updates
	tick := time.NewTicker(linkPoll)
	defer tick.Stop()
	for len(pending) > 0 {
		select {
		case u, ok := <-updates:
			if !ok {
				updates = nil // notifications ended (a full socket): poll only
				continue
			}
			if u.Attrs().OperState == netlink.OperUp {
				delete(pending, u.Attrs().Name)
			}
		case <-tick.C:
			for name := range pending {
				l, err := w.ns.Netlink().LinkByName(name)
				if err != nil {
					return fmt.Errorf("%s/%s: %w", w.node, name, err)
				}
				if l.Attrs().OperState == netlink.OperUp {
					delete(pending, name)
				}
			}
		case <-ctx.Done():
			if ctx.Err() == context.DeadlineExceeded {
				return fmt.Errorf("%s/%s is set up, but the kernel had not brought it up %v later (an overloaded machine?): run the command again",
					w.node, names(pending), time.Since(start).Round(time.Millisecond))
			}
			return ctx.Err()
		}
	}
	return nil
}

func names(set map[string]bool) string {
	s := make([]string, 0, len(set))
	for n := range set {
		s = append(s, n)
	}
	sort.Strings(s)
	return strings.Join(s, ",")
}

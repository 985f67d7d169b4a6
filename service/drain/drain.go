// Package drain empties a node of a cluster while it keeps running, for a
// rolling upgrade: the node leaves the cluster (etcd forgets it and its
// sessions at once), turns hosts away, and ends its sessions with a word
// to their guests; the hosts' tmate reconnects through the load balancer
// to another node with the same tokens, and the guests join again with
// the same command.
package drain

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"tmate-relay/service/session"
	"tmate-relay/service/sshd"
)

// Door is the node's SSH side (sshd.Server).
type Door interface {
	// Drain turns hosts away and ends the carrying of guests to other
	// nodes; with stopAccepting it closes the listeners too.
	Drain(stopAccepting bool)
	// Carried is the number of guests still carried to other nodes.
	Carried() int
}

// Node drains one relay. It implements admin.Drainer.
type Node struct {
	Name     string
	Leave    func() // leave the cluster: the lease is revoked
	Door     Door
	Registry *session.Registry
	// StopAccepting closes the SSH listeners, which the relay may do when
	// it listens itself; a socket systemd holds stays open, and the load
	// balancer learns from /healthz instead.
	StopAccepting bool
	// Poll is how often what is left is looked at (250 ms).
	Poll time.Duration

	start    sync.Once
	mu       sync.Mutex
	draining bool
}

// Draining reports whether the drain has started (for /healthz).
func (n *Node) Draining() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.draining
}

// Drain leaves the cluster, turns hosts away and ends every session here,
// then waits until the node holds no session and carries no guest, or ctx
// ends. Sessions whose hosts got in just before are ended as they appear.
func (n *Node) Drain(ctx context.Context, progress func(string)) (string, error) {
	poll := n.Poll
	if poll <= 0 {
		poll = 250 * time.Millisecond
	}
	n.start.Do(func() {
		n.mu.Lock()
		n.draining = true
		n.mu.Unlock()
		progress(fmt.Sprintf("node %s leaves the cluster: new hosts and guests go to the other nodes", n.Name))
		n.Leave()
		n.Door.Drain(n.StopAccepting)
	})
	ended, reported := 0, ""
	for {
		left := n.Registry.Sessions()
		for _, s := range left {
			s.End(sshd.DrainNotice)
			n.Registry.Remove(s) // a host away or not, it reconnects elsewhere
			ended++
		}
		carried := n.Door.Carried()
		if len(left) == 0 && carried == 0 {
			return fmt.Sprintf("node %s is drained: it holds no session (ended here: %d; their hosts reconnect to other nodes); stop it now", n.Name, ended), nil
		}
		if line := status(ended, carried); line != reported {
			progress(line)
			reported = line
		}
		select {
		case <-ctx.Done():
			return "", leftError(n.Name, n.Registry.Sessions(), n.Door.Carried())
		case <-time.After(poll):
		}
	}
}

func status(ended, carried int) string {
	s := fmt.Sprintf("sessions ended: %d (their hosts reconnect to other nodes, their guests are told to join again)", ended)
	if carried > 0 {
		s += fmt.Sprintf("; guests carried to other nodes still leaving: %d", carried)
	}
	return s
}

// leftError names what the node still holds when the drain timed out.
func leftError(name string, left []*session.Session, carried int) error {
	var what []string
	if len(left) > 0 {
		ids := make([]string, 0, len(left))
		for _, s := range left {
			ids = append(ids, s.ID())
		}
		what = append(what, fmt.Sprintf("sessions: %d (%s; tmate-relay sessions lists them)", len(left), strings.Join(ids, ", ")))
	}
	if carried > 0 {
		what = append(what, fmt.Sprintf("guests carried to other nodes: %d", carried))
	}
	if len(what) == 0 {
		what = append(what, "nothing now")
	}
	return fmt.Errorf("node %s was not drained in time: it still holds %s; new hosts are turned away; run tmate-relay drain again, or stop it", name, strings.Join(what, " and "))
}

package drain

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"tmate-relay/service/session"
	"tmate-relay/service/sshd"
)

// host takes what a session sends its host.
type host struct{}

func (host) Notify(string) error          { return nil }
func (host) Resize(int, int) error        { return nil }
func (host) SetEnv(string, string) error  { return nil }
func (host) Ready() error                 { return nil }
func (host) PaneKey(int, uint64) error    { return nil }
func (host) ExecCmd(int, ...string) error { return nil }

// door records what the drain asked of the SSH side.
type door struct {
	mu            sync.Mutex
	drained       int
	stopAccepting bool
	carried       func() int
}

func (d *door) Drain(stop bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.drained++
	d.stopAccepting = stop
}

func (d *door) Carried() int { return d.carried() }

func newSession(t *testing.T, reg *session.Registry) *session.Session {
	t.Helper()
	s := session.New(session.Config{}, host{})
	if err := reg.Add(s); err != nil {
		t.Fatal(err)
	}
	return s
}

// A drain leaves the cluster once, turns hosts away, ends every session
// with the word that its guests should join again (also one whose host
// got in during the drain), and says so; a second drain finds nothing
// left. Guests still carried to other nodes are waited for, and named
// when the timeout comes first.
func TestDrain(t *testing.T) {
	for _, tc := range []struct {
		name     string
		sessions int
		late     bool // a session arrives once the drain started
		carried  int  // guests carried to other nodes that never leave
		wantErr  string
	}{
		{name: "no session", sessions: 0},
		{name: "sessions ended", sessions: 3},
		{name: "a host that got in during the drain", sessions: 1, late: true},
		{name: "carried guests left at the timeout", sessions: 2, carried: 2, wantErr: "was not drained in time: it still holds guests carried to other nodes: 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := session.NewRegistry(0)
			var sessions []*session.Session
			for range tc.sessions {
				sessions = append(sessions, newSession(t, reg))
			}
			left := 0
			d := &door{carried: func() int { return tc.carried }}
			n := &Node{Name: "node-1", Door: d, Registry: reg, StopAccepting: true, Poll: 10 * time.Millisecond}
			n.Leave = func() { left++ }
			var progress []string
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			var late *session.Session
			done, err := n.Drain(ctx, func(line string) {
				progress = append(progress, line)
				if tc.late && late == nil && strings.Contains(line, "sessions ended:") { // after the first sweep
					late = newSession(t, reg)
					sessions = append(sessions, late)
				}
			})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("drain: %q, %v; want the error %q", done, err, tc.wantErr)
				}
			} else if err != nil || !strings.Contains(done, "node node-1 is drained: it holds no session") {
				t.Fatalf("drain: %q, %v", done, err)
			}
			if left != 1 || d.drained != 1 || !d.stopAccepting || !n.Draining() {
				t.Errorf("left the cluster %d times, SSH side drained %d times (stop accepting %v), draining %v", left, d.drained, d.stopAccepting, n.Draining())
			}
			for i, s := range sessions {
				if s.EndReason() != sshd.DrainNotice {
					t.Errorf("session %d ended with %q, want %q", i, s.EndReason(), sshd.DrainNotice)
				}
			}
			if reg.Len() != 0 {
				t.Errorf("%d sessions left in the registry", reg.Len())
			}
			if len(progress) == 0 || !strings.Contains(progress[0], "leaves the cluster") {
				t.Errorf("progress: %q", progress)
			}
			if tc.wantErr != "" {
				return
			}
			// Again: the node is drained already.
			if done, err := n.Drain(ctx, func(string) {}); err != nil || !strings.Contains(done, "holds no session") || left != 1 {
				t.Errorf("a second drain: %q, %v, left the cluster %d times", done, err, left)
			}
		})
	}
}

package viewer

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"tmate-relay/service/protocol"
	"tmate-relay/service/session"
)

// hostLog records what a session sends to its host.
type hostLog struct {
	mu   sync.Mutex
	sent []string
}

func (h *hostLog) add(format string, args ...any) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.sent = append(h.sent, fmt.Sprintf(format, args...))
	return nil
}
func (h *hostLog) Notify(msg string) error            { return h.add("NOTIFY %s", msg) }
func (h *hostLog) Resize(sx, sy int) error            { return h.add("RESIZE %d %d", sx, sy) }
func (h *hostLog) SetEnv(name, value string) error    { return h.add("SET_ENV %s=%s", name, value) }
func (h *hostLog) Ready() error                       { return h.add("READY") }
func (h *hostLog) PaneKey(pane int, key uint64) error { return h.add("PANE_KEY %d %#x", pane, key) }
func (h *hostLog) ExecCmd(id int, argv ...string) error {
	return h.add("EXEC_CMD %d %s", id, strings.Join(argv, " "))
}

func (h *hostLog) has(prefix string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, s := range h.sent {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}

// fakeTerm is a guest terminal in memory: keys go in through a pipe, frames
// are collected.
type fakeTerm struct {
	keys    *io.PipeReader
	typeIn  *io.PipeWriter
	resizes chan Size

	mu    sync.Mutex
	out   strings.Builder
	ended string

	dropOnce sync.Once
	dropped  chan struct{} // closed by Drop
}

func newFakeTerm() *fakeTerm {
	r, w := io.Pipe()
	return &fakeTerm{keys: r, typeIn: w, resizes: make(chan Size, 1), dropped: make(chan struct{})}
}

func (f *fakeTerm) Read(b []byte) (int, error) { return f.keys.Read(b) }
func (f *fakeTerm) Write(b []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.out.Write(b)
}
func (f *fakeTerm) Resizes() <-chan Size { return f.resizes }
func (f *fakeTerm) End(why string) {
	f.mu.Lock()
	f.ended = why
	f.mu.Unlock()
}

func (f *fakeTerm) Drop() {
	f.dropOnce.Do(func() {
		close(f.dropped)
		f.keys.CloseWithError(io.ErrClosedPipe) // the connection is gone: so is its input
	})
}

func (f *fakeTerm) shown() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.out.String()
}

func newSession(t *testing.T) (*session.Session, *hostLog) {
	t.Helper()
	h := &hostLog{}
	s := session.New(session.Config{AdvertiseHost: "relay.example", AdvertisePort: 10022}, h)
	if err := session.NewRegistry(0).Add(s); err != nil {
		t.Fatal(err)
	}
	for _, argv := range [][]string{
		{"set-option", "-g", "prefix", "C-b"},
		{"bind-key", "d", "detach-client"},
		{"bind-key", "c", "new-window"},
	} {
		if _, err := s.Apply(&protocol.ExecCmd{Argv: argv}); err != nil {
			t.Fatal(err)
		}
	}
	return s, h
}

// runGuest attaches an 80x25 guest to s and runs its loop on a fake
// terminal; done reports why the loop ended.
func runGuest(t *testing.T, s *session.Session, readOnly bool) (*session.Guest, *fakeTerm, <-chan string) {
	t.Helper()
	g, err := s.Attach(readOnly, "192.0.2.1", 80, 25)
	if err != nil {
		t.Fatal(err)
	}
	term := newFakeTerm()
	done := make(chan string)
	go func() { done <- Run(s, g, term, Config{}) }()
	return g, term, done
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5s", what)
		}
	}
}

func TestTypingReachesTheHostAndPrefixBindingsRun(t *testing.T) {
	s, h := newSession(t)
	g, term, done := runGuest(t, s, false)
	term.typeIn.Write([]byte("a"))
	waitFor(t, "PANE_KEY a", func() bool { return h.has("PANE_KEY -1 0x61") })
	term.typeIn.Write([]byte("\x02c"))
	waitFor(t, "EXEC_CMD new-window", func() bool { return h.has(fmt.Sprintf("EXEC_CMD %d new-window", g.ClientID)) })
	term.resizes <- Size{W: 100, H: 30}
	waitFor(t, "RESIZE 100 29", func() bool { return h.has("RESIZE 100 29") })
	term.typeIn.Write([]byte("\x02d"))
	if why := <-done; why != "detached" {
		t.Fatalf("Run returned %q, want detached", why)
	}
	if !strings.HasSuffix(term.shown(), "[detached]\r\n") || term.ended != "detached" {
		t.Fatalf("after a detach the terminal shows %q and was ended with %q", term.shown(), term.ended)
	}
}

func TestReadOnlyGuestSendsNothingButDetaches(t *testing.T) {
	s, h := newSession(t)
	_, term, done := runGuest(t, s, true)
	term.typeIn.Write([]byte("echo hi\r\x02c"))
	term.typeIn.Write([]byte("\x02d"))
	if why := <-done; why != "detached" {
		t.Fatalf("Run returned %q, want detached", why)
	}
	if h.has("PANE_KEY") || h.has("EXEC_CMD") {
		t.Fatalf("a read-only guest's keys reached the host: %q", h.sent)
	}
}

func TestSessionEndTellsTheGuestWhy(t *testing.T) {
	s, _ := newSession(t)
	_, term, done := runGuest(t, s, false)
	s.End("the host left")
	if why := <-done; why != "the host left" || term.ended != "the host left" {
		t.Fatalf("Run returned %q, terminal ended with %q", why, term.ended)
	}
}

func TestDisconnectReturnsWithoutLastWords(t *testing.T) {
	s, _ := newSession(t)
	_, term, done := runGuest(t, s, false)
	term.typeIn.Close()
	if why := <-done; why != "disconnected" || term.ended != "" {
		t.Fatalf("Run returned %q, terminal ended with %q", why, term.ended)
	}
}

// TestLocalViewsStayOnTheGuest runs display-panes and list-keys through a
// guest's loop: both are drawn for this guest alone, only a digit over the
// pane numbers reaches the host (as select-pane), and a list-keys error is
// shown on the guest's status line.
func TestLocalViewsStayOnTheGuest(t *testing.T) {
	s, h := newSession(t)
	for _, argv := range [][]string{
		{"bind-key", "?", "list-keys"},
		{"bind-key", "q", "display-panes"},
		{"bind-key", ":", "command-prompt"},
		{"set-option", "-g", "display-panes-time", "600000"},
	} {
		if _, err := s.Apply(&protocol.ExecCmd{Argv: argv}); err != nil {
			t.Fatal(err)
		}
	}
	layout := &protocol.SyncLayout{SX: 80, SY: 24, ActiveWindowIdx: 0, Windows: []protocol.Window{{
		Idx: 0, Name: "sh", ActivePaneID: 1,
		Panes: []protocol.PaneLayout{{ID: 0, SX: 40, SY: 24}, {ID: 1, SX: 39, SY: 24, XOff: 41}},
	}}}
	if _, err := s.Apply(layout); err != nil {
		t.Fatal(err)
	}
	g, term, done := runGuest(t, s, false)
	shows := func(text string) {
		t.Helper()
		waitFor(t, "the guest shows "+text, func() bool { return strings.Contains(term.shown(), text) })
	}

	term.typeIn.Write([]byte("\x02?"))
	shows("bind-key -T prefix ? list-keys")
	shows("[0/0]")
	term.typeIn.Write([]byte("q\x02:lsk -T nosuch\r"))
	shows("Table nosuch doesn't exist")

	term.typeIn.Write([]byte("\x02q"))
	shows("40x24")
	term.typeIn.Write([]byte("0\x02d"))
	if why := <-done; why != "detached" {
		t.Fatalf("Run returned %q, want detached", why)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	var execs []string
	for _, s := range h.sent {
		if strings.HasPrefix(s, "EXEC_CMD") {
			execs = append(execs, s)
		}
	}
	if want := []string{fmt.Sprintf("EXEC_CMD %d select-pane -t :.0", g.ClientID)}; fmt.Sprint(execs) != fmt.Sprint(want) {
		t.Fatalf("the host was sent %q, want %q", execs, want)
	}
}

// answeringTerm answers the last words as a terminal answers the cursor
// query the SSH transport sends after them.
type answeringTerm struct{ *fakeTerm }

func (a answeringTerm) End(why string) {
	a.typeIn.Write([]byte("\x1b[1;1R")) // returns once the guest's reader has it
	a.fakeTerm.End(why)
}

// What the guest's terminal sends after its last words are written is not
// typed into the host's pane.
func TestInputAfterTheLastWordsStaysOffTheHost(t *testing.T) {
	s, h := newSession(t)
	g, err := s.Attach(false, "192.0.2.1", 80, 25)
	if err != nil {
		t.Fatal(err)
	}
	term := answeringTerm{newFakeTerm()}
	done := make(chan string)
	go func() { done <- Run(s, g, term, Config{}) }()
	term.typeIn.Write([]byte("a"))
	waitFor(t, "PANE_KEY a", func() bool { return h.has("PANE_KEY -1 0x61") })
	s.End("the host left")
	<-done
	time.Sleep(200 * time.Millisecond) // a forwarded answer would be sent by now
	h.mu.Lock()
	defer h.mu.Unlock()
	if n := len(h.sent); h.sent[n-1] != "PANE_KEY -1 0x61" {
		t.Fatalf("the host was sent %q after the guest's last words", h.sent)
	}
}

// batchHost is a host whose sender takes several keys in one write
// (session.KeysSender), as the SSH host's encoder does.
type batchHost struct{ hostLog }

func (h *batchHost) PaneKeys(pane int, keys []uint64) error {
	s := make([]string, len(keys))
	for i, k := range keys {
		s[i] = fmt.Sprintf("%#x", k)
	}
	return h.add("PANE_KEYS %d %s", pane, strings.Join(s, " "))
}

// The keys of one read from the guest (a paste, or keys typed faster than
// they are read) reach the host in one write, in order with the commands
// between them.
func TestKeysOfOneReadReachTheHostTogether(t *testing.T) {
	for _, tc := range []struct {
		name, typed string
		want        []string
	}{
		{"a paste", "hi there\r", []string{"PANE_KEYS -1 0x68 0x69 0x20 0x74 0x68 0x65 0x72 0x65 0xd"}},
		{"a command between keys", "ab\x02cde", []string{"PANE_KEYS -1 0x61 0x62", "EXEC_CMD %d new-window", "PANE_KEYS -1 0x64 0x65"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &batchHost{}
			s := session.New(session.Config{AdvertiseHost: "relay.example", AdvertisePort: 10022}, h)
			if err := session.NewRegistry(0).Add(s); err != nil {
				t.Fatal(err)
			}
			for _, argv := range [][]string{{"set-option", "-g", "prefix", "C-b"}, {"bind-key", "c", "new-window"}} {
				if _, err := s.Apply(&protocol.ExecCmd{Argv: argv}); err != nil {
					t.Fatal(err)
				}
			}
			g, term, done := runGuest(t, s, false)
			want := strings.Join(tc.want, "\n")
			if strings.Contains(want, "%d") {
				want = fmt.Sprintf(want, g.ClientID)
			}
			sent := func() string {
				h.mu.Lock()
				defer h.mu.Unlock()
				var keys []string
				for _, m := range h.sent {
					if strings.HasPrefix(m, "PANE_KEY") || strings.HasPrefix(m, "EXEC_CMD") {
						keys = append(keys, m)
					}
				}
				return strings.Join(keys, "\n")
			}
			term.typeIn.Write([]byte(tc.typed))
			waitFor(t, "the keys at the host", func() bool { return len(sent()) >= len(want) })
			if got := sent(); got != want {
				t.Fatalf("the host got\n%s\nwant\n%s", got, want)
			}
			s.End("done")
			<-done
		})
	}
}

package session

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"tmate-relay/service/guest"
	"tmate-relay/service/keys"
)

// Guest is one attached viewer as the session sees it. Its connection
// waits on Changed and draws with Session.Compose.
type Guest struct {
	ClientID  int
	ReadOnly  bool
	Addr      string
	Transport Transport
	joined    time.Time
	observer  bool // the session's recording, not a guest (recording.go)

	kicked   chan struct{} // closed when the administrator removes the guest
	kickOnce sync.Once
	kickWhy  string // set before kicked is closed

	bytes atomic.Int64 // written to the guest's terminal (audit.go)

	// dataAt is when the oldest host output the guest has not yet been
	// drawn arrived (unix ns, 0 for none): frame latency (TakeDataTime).
	dataAt atomic.Int64

	w, h    int // terminal size, under Session.mu
	changed chan struct{}
	drawer  InlineDrawer // under Session.mu: draws g in the host's reader, nil for none
	view    guest.View   // reused by Compose, under Session.mu
	stamp   viewStamp    // what view was built from (Compose), under Session.mu

	msgMu    sync.Mutex
	message  string
	msgUntil time.Time
	prompt   guest.Prompt // the guest's open status-line prompt
	local    guest.LocalView
	numbers  time.Time // local.PaneNumbers shows until then
	// shownChanges counts the changes to message, prompt and local,
	// their expiry included (shownGen).
	shownChanges uint64
}

// SetPrompt shows p, the guest's own status-line prompt (Text "" closes
// it); its #P is the active pane's index when drawn.
func (g *Guest) SetPrompt(p guest.Prompt) {
	g.msgMu.Lock()
	g.prompt = p
	g.shownChanges++
	g.msgMu.Unlock()
	g.poke()
}

// shown is what g shows by itself now: its status-line message, its
// prompt, its own views over the window, and shownGen.
func (g *Guest) shown() (msg string, p guest.Prompt, local guest.LocalView, gen uint64) {
	g.msgMu.Lock()
	defer g.msgMu.Unlock()
	g.expire()
	return g.message, g.prompt, g.local, g.shownChanges
}

// shownGen counts the changes to what g shows by itself (shown): while it
// stays the same, so does that.
func (g *Guest) shownGen() uint64 {
	g.msgMu.Lock()
	defer g.msgMu.Unlock()
	g.expire()
	return g.shownChanges
}

// expire drops the message and the pane numbers whose time is up. The
// caller holds msgMu.
func (g *Guest) expire() {
	if g.message == "" && !g.local.PaneNumbers {
		return // no clock to read
	}
	now := time.Now()
	if g.message != "" && now.After(g.msgUntil) {
		g.message = ""
		g.shownChanges++
	}
	if g.local.PaneNumbers && !now.Before(g.numbers) {
		g.local.PaneNumbers = false
		g.shownChanges++
	}
}

// Changed delivers a signal whenever the session changed since the guest
// last looked. Signals coalesce: one pending signal stands for any number.
func (g *Guest) Changed() <-chan struct{} { return g.changed }

func (g *Guest) poke() {
	select {
	case g.changed <- struct{}{}:
	default:
	}
}

// TakeDataTime returns when the oldest host output not yet drawn for g
// arrived, and forgets it: the frame composed next shows that output. Zero
// when no output arrived since the last call.
func (g *Guest) TakeDataTime() time.Time {
	if ns := g.dataAt.Swap(0); ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Time{}
}

// noteData records that host output arrived at now (unix ns) for guests
// that have none waiting to be drawn. The caller holds mu.
func (s *Session) noteData(now int64) {
	for _, g := range s.guests {
		if g.dataAt.Load() == 0 {
			g.dataAt.CompareAndSwap(0, now)
		}
	}
}

// ShowMessage shows msg on the guest's status line for d.
func (g *Guest) ShowMessage(msg string, d time.Duration) {
	g.msgMu.Lock()
	g.message, g.msgUntil = msg, time.Now().Add(d)
	g.shownChanges++
	g.msgMu.Unlock()
	g.poke()
	time.AfterFunc(d, g.poke)
}

// Transport is what carries a guest's terminal.
type Transport string

// The relay's transports.
const (
	TransportSSH Transport = "ssh"
	TransportWeb Transport = "web"
)

// Kicked is closed when the relay's administrator removed the guest;
// KickReason then says what the guest reads.
func (g *Guest) Kicked() <-chan struct{} { return g.kicked }

// KickReason is why the guest was removed (valid once Kicked is closed).
func (g *Guest) KickReason() string { return g.kickWhy }

func (g *Guest) kick(why string) {
	g.kickOnce.Do(func() {
		g.kickWhy = why
		close(g.kicked)
	})
}

// Attach adds an SSH guest whose terminal is w x h.
func (s *Session) Attach(readOnly bool, addr string, w, h int) (*Guest, error) {
	return s.AttachVia(TransportSSH, readOnly, addr, w, h)
}

// AttachVia adds a guest that came by transport whose terminal is w x h.
func (s *Session) AttachVia(transport Transport, readOnly bool, addr string, w, h int) (*Guest, error) {
	s.mu.Lock()
	select {
	case <-s.done:
		s.mu.Unlock()
		return nil, ErrEnded
	default:
	}
	if err := s.guestCapReached(readOnly); err != nil {
		s.mu.Unlock()
		return nil, err
	}
	s.nextClientID++
	g := &Guest{ClientID: s.nextClientID, ReadOnly: readOnly, Addr: addr, Transport: transport, joined: time.Now(),
		w: w, h: h, changed: make(chan struct{}, 1), kicked: make(chan struct{})}
	s.guests = append(s.guests, g)
	n := len(s.guests)
	recorded, shown := s.rec.obs != nil, max(s.messageTime(), 5*time.Second)
	s.mu.Unlock()
	if recorded {
		g.ShowMessage(RecordingNotice, shown)
	}
	s.mark(guestMark("joined", g))
	g.poke()
	s.host.Notify(fmt.Sprintf("A mate has joined (%s) -- %d client%s currently connected", addr, n, plural(n)))
	s.host.SetEnv("tmate_num_clients", fmt.Sprint(n))
	s.sendSize()
	return g, nil
}

// Detach removes g.
func (s *Session) Detach(g *Guest) {
	s.mu.Lock()
	i := slices.Index(s.guests, g)
	if i < 0 {
		s.mu.Unlock()
		return
	}
	s.guests = slices.Delete(s.guests, i, i+1)
	n := len(s.guests)
	s.typist.CompareAndSwap(g, nil)
	s.mu.Unlock()
	s.mark(guestMark("left", g))
	select {
	case <-s.done:
		return // the host is gone: nobody to tell
	default:
	}
	s.host.Notify(fmt.Sprintf("A mate has left (%s) -- %d client%s currently connected", g.Addr, n, plural(n)))
	s.host.SetEnv("tmate_num_clients", fmt.Sprint(n))
	s.sendSize()
}

// guestCapReached reports whether one more guest of this kind would go over
// its cap: read-only and read-write guests have caps of their own. The
// caller holds mu.
func (s *Session) guestCapReached(readOnly bool) error {
	limit, err := s.cfg.MaxGuests, ErrTooManyGuests
	if readOnly {
		limit, err = s.cfg.MaxReadOnlyGuests, ErrTooManyReadOnlyGuests
	}
	if limit <= 0 {
		return nil
	}
	n := 0
	for _, g := range s.guests {
		if g.ReadOnly == readOnly {
			n++
		}
	}
	if n >= limit {
		return err
	}
	return nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// ResizeGuest records g's new terminal size.
func (s *Session) ResizeGuest(g *Guest, w, h int) {
	s.mu.Lock()
	g.w, g.h = w, h
	s.mu.Unlock()
	g.poke()
	s.sendSize()
}

// sendSize tells the host the smallest read-write guest's area (rows
// without the status line), or -1,-1 when no read-write guest is attached,
// when that changed.
//
// Read-only guests never size the session, as tmux's ignore-size clients
// do not while any other client is attached: in tmate the host's own
// terminal always is. A read-only link is the one people paste into chats,
// and one guest at 1x1 would otherwise shrink the window for the host and
// everyone else. A read-only guest sees the window at the size the host
// and the read-write guests give it: cut off when its terminal is smaller
// (viewSize), with nothing drawn beyond it when larger.
func (s *Session) sendSize() error {
	s.sizeMu.Lock() // keeps the sizes the host receives in order
	defer s.sizeMu.Unlock()
	s.mu.Lock()
	sx, sy := -1, -1
	for _, g := range s.guests {
		if g.ReadOnly {
			continue
		}
		w, h := g.w, g.h-1
		if sx < 0 || w < sx {
			sx = w
		}
		if sy < 0 || h < sy {
			sy = h
		}
	}
	if sx == 0 || sy == 0 {
		sx, sy = max(sx, 1), max(sy, 1)
	}
	if s.sentSize == [2]int{sx, sy} {
		s.mu.Unlock()
		return nil
	}
	s.sentSize = [2]int{sx, sy}
	s.mu.Unlock()
	return s.host.Resize(sx, sy)
}

// SendKeys sends a guest's keys, typed or pasted together, to the host's
// active pane in one write where the host's sender allows it.
func (s *Session) SendKeys(g *Guest, keys []uint64) error {
	if g.ReadOnly || len(keys) == 0 {
		return nil
	}
	s.activity.touch()
	s.typist.Store(g)
	return s.rc.PaneKeys(-1, keys)
}

// Exec runs a guest's bound command on the host.
func (s *Session) Exec(g *Guest, argv []string) error {
	if g.ReadOnly {
		return nil
	}
	s.typist.Store(g)
	s.noteRename(argv)
	return s.host.ExecCmd(g.ClientID, argv...)
}

// showFailure shows a failed command's cause to the guest that ran it.
func (s *Session) showFailure(clientID int, cause string) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, g := range s.guests {
		if g.ClientID == clientID {
			g.ShowMessage(capitalize(cause), s.messageTime())
		}
	}
}

// capitalize is what tmux's cmdq_error does to a cause before a client's
// status line shows it.
func capitalize(s string) string {
	if s != "" && s[0] >= 'a' && s[0] <= 'z' {
		return string(s[0]-'a'+'A') + s[1:]
	}
	return s
}

// KeyTable gives guests' input read access to the replicated key table.
func (s *Session) KeyTable() LockedTable { return LockedTable{s} }

// LockedTable reads the session's key table under its lock.
type LockedTable struct{ s *Session }

// Lookup finds the binding of k in table.
func (t LockedTable) Lookup(table string, k keys.Key) (keys.Binding, bool) {
	t.s.mu.RLock()
	defer t.s.mu.RUnlock()
	return t.s.keys.Lookup(table, k)
}

// Prefix returns the prefix keys.
func (t LockedTable) Prefix() (keys.Key, keys.Key) {
	t.s.mu.RLock()
	defer t.s.mu.RUnlock()
	return t.s.keys.Prefix()
}

// ExpandFormat expands the active pane's and window's formats (#P, #I,
// #W) in s, for a guest's prompt; others stay as they are.
func (t LockedTable) ExpandFormat(s string) string {
	t.s.mu.RLock()
	defer t.s.mu.RUnlock()
	w := t.s.windowByIdx(t.s.activeWindow)
	if w == nil {
		return s
	}
	idx := 0
	for i, p := range w.panes {
		if p.id == w.activePane {
			idx = i
		}
	}
	return expandPrompt(expandSession(s, t.s.sessionName()), idx, w)
}

// Package session is one shared tmate session as the relay models it: the
// host's layout, one emulator per pane, the status strings and the key table
// the host replicates, and the guests attached to it. The host's reader is
// the only writer of this state; guests read it to draw their own frames.
package session

import (
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"tmate-relay/service/audit"
	"tmate-relay/service/guest"
	"tmate-relay/service/keys"
	"tmate-relay/service/protocol"
	"tmate-relay/service/vt"
)

// HostSender is what a session sends to its host (protocol.Encoder).
type HostSender interface {
	Notify(msg string) error
	Resize(sx, sy int) error
	SetEnv(name, value string) error
	Ready() error
	PaneKey(paneID int, key uint64) error
	ExecCmd(clientID int, argv ...string) error
}

// KeysSender is a HostSender that can send several keys in one write
// (protocol.Encoder): a guest's paste then reaches the host in a few
// packets rather than a packet per key.
type KeysSender interface {
	PaneKeys(paneID int, keys []uint64) error
}

// Config holds what a session needs to know about the relay.
type Config struct {
	// Log is where a panic that ends the session goes (Crash);
	// nil: slog.Default().
	Log *slog.Logger

	AdvertiseHost  string
	AdvertisePort  int
	WebURL         string // base URL of browser guests' pages; empty: no web lines
	HistoryLines   int    // per pane
	MaxPanes       int    // per session
	MaxGuests      int    // read-write guests per session, 0 = no cap
	MessageTimeout time.Duration
	// MaxCells bounds the cells (vt.CellBytes each) the session's panes
	// keep: screens, history, alternate screens (see cells.go).
	MaxCells int64
	// Cells is the relay's pool every session's cells are also drawn
	// from; nil: no relay-wide bound.
	Cells *vt.Pool
	// MaxReadOnlyGuests caps read-only guests per session apart from
	// read-write ones, so that a widely pasted read-only link cannot take
	// the slots of the people who type; 0 = no cap.
	MaxReadOnlyGuests int
	// MaxConfigBytes bounds what the session keeps of the host's tmux
	// configuration, its key bindings and its options each (0: the
	// default).
	MaxConfigBytes int
	// Audit records the session's end (audit.go); nil: nothing.
	Audit *audit.Trail
	// Record says whether and how the session is recorded (recording.go).
	Record RecordPolicy
}

// DefaultMaxConfigBytes bounds the host's key bindings, and its options,
// each: what a real tmate 2.4.0 sends as it starts keeps about 10 KB.
const DefaultMaxConfigBytes = 1 << 20

// Errors a guest may see when attaching.
var (
	ErrTooManyGuests         = errors.New("this session has reached its guest limit")
	ErrTooManyReadOnlyGuests = errors.New("this session has reached its read-only guest limit")
	ErrEnded                 = errors.New("the session has ended")
)

type window struct {
	idx        int
	name       string
	panes      []paneGeom
	activePane int
}

type paneGeom struct{ id, x, y, w, h int }

type pane struct {
	emu  *vt.Emulator
	copy copyScreen // copy.mode nil: not in copy mode
	// out is the copy-mode output view WRITE_COPY_MODE fills (tmate's
	// start-up tips, show-messages): a screen of the pane's size whose
	// lines scroll into history; nil when the pane shows none.
	out        *vt.Emulator
	outWritten bool
}

// Session is one host and its guests.
type Session struct {
	cfg  Config
	host HostSender

	token, roToken string    // set by Registry.Add, renamed by its claim before READY, constant afterwards
	registry       *Registry // set by Registry.Add
	access         access    // who may join, names (access.go); under mu

	mu           sync.RWMutex
	sx, sy       int
	windows      []window // sorted by idx
	activeWindow int      // idx
	lastWindow   int      // idx, -1 for none
	panes        map[int]*pane
	cells        *vt.Pool // what the panes keep, drawn from cfg.Cells (cells.go)
	statusLeft   string
	statusRight  string
	keys         *keys.Table
	opts         options // see options.go for precedence
	foreground   bool
	name         string // the session's name, as guests' rename-session set it ("" for "0")
	guests       []*Guest
	typist       atomic.Pointer[Guest] // the guest that last sent the host keys or a command
	nextClientID int
	sizeMu       sync.Mutex
	sentSize     [2]int // under sizeMu and mu

	alerts   windowAlerts // under mu: window activity, bell and silence flags (alerts.go)
	rings    uint64       // under mu: bells guests' terminals ring (bellAlert)
	hostName string       // under mu: the host's uname nodename, tmux's #H

	statusFromHost bool      // under mu: the host sent a STATUS (else guests expand its formats)
	statusClock    sync.Once // starts tickStatusClock
	// stateGen counts, under mu, the host's messages other than output:
	// only they change the options, windows and status source that
	// viewOpts was read from (options.go).
	stateGen uint64
	viewOpts atomic.Pointer[viewOpts]
	// viewGen counts, under mu, the changes to what guests see apart from
	// the panes' contents that come without a change of stateGen: alerts,
	// rings, pane titles, the session's name, the away notice. While
	// neither moves, nor the guest's own messages, prompt and views
	// (Guest.shownGen), a guest's next frame can skip building its view
	// again (Compose).
	viewGen uint64

	rc         *hostLink // the same as host: the host's current connection (reconnect.go)
	awayNotice string    // under mu: what guests read while the host is away

	id       string    // see ID; under mu only while Resume sets it
	started  time.Time // when the session started, or came back after a relay restart
	activity activity  // the host's output and guests' keys (admin.go)
	hostAddr string    // under mu: the address of the host's current connection
	audit    auditState
	rec      recordState // under mu (recording.go)

	endOnce   sync.Once
	done      chan struct{}
	endReason string
	crashOnce sync.Once // Crash tells the host and ends the session once
}

// New returns a session that talks back to its host through host.
func New(cfg Config, host HostSender) *Session {
	if cfg.HistoryLines <= 0 {
		cfg.HistoryLines = 2000
	}
	if cfg.MaxPanes <= 0 {
		cfg.MaxPanes = 1000
	}
	if cfg.MessageTimeout <= 0 {
		cfg.MessageTimeout = 750 * time.Millisecond
	}
	if cfg.MaxCells <= 0 {
		cfg.MaxCells = DefaultMaxCells
	}
	if cfg.MaxConfigBytes <= 0 {
		cfg.MaxConfigBytes = DefaultMaxConfigBytes
	}
	link := newHostLink(host)
	s := &Session{
		cfg:        cfg,
		host:       link,
		rc:         link,
		lastWindow: -1,
		panes:      map[int]*pane{},
		keys:       keys.NewTable(),
		opts:       newOptions(),
		done:       make(chan struct{}),
		sentSize:   [2]int{-2, -2},
		id:         newSessionID(),
		started:    time.Now(),
	}
	s.keys.SetMaxBytes(cfg.MaxConfigBytes)
	s.opts.maxBytes = cfg.MaxConfigBytes
	s.activity.touch()
	s.cells = vt.NewPool(SessionCellsSetting, cfg.MaxCells, cfg.Cells)
	s.cells.Reclaim = s.shedHistory
	return s
}

// Token and ReadOnlyToken are the session's guest tokens.
func (s *Session) Token() string         { return s.token }
func (s *Session) ReadOnlyToken() string { return s.roToken }

// Done is closed when the session ends.
func (s *Session) Done() <-chan struct{} { return s.done }

// EndReason says why the session ended (valid after Done is closed).
func (s *Session) EndReason() string { return s.endReason }

// End ends the session with a reason its guests will read.
func (s *Session) End(reason string) {
	if s.end(reason) {
		s.recordEnd()
	}
}

// end is End without the audit trail, for a caller that holds the host
// link's lock; it reports whether it ended the session.
func (s *Session) end(reason string) (ended bool) {
	s.endOnce.Do(func() {
		ended = true
		s.endReason = reason
		held := s.cells.Used()
		s.cells.Close() // the relay's cells are free for others at once
		close(s.done)
		go s.dropPanes(held)
	})
	return ended
}

// SSHCommand returns the ssh command line a guest uses for token.
func (s *Session) SSHCommand(token string) string {
	if s.cfg.AdvertisePort == 22 || s.cfg.AdvertisePort == 0 {
		return fmt.Sprintf("ssh %s@%s", token, s.cfg.AdvertiseHost)
	}
	return fmt.Sprintf("ssh -p%d %s@%s", s.cfg.AdvertisePort, token, s.cfg.AdvertiseHost)
}

// WebURL returns the page a browser guest opens for token.
func (s *Session) WebURL(token string) string {
	return strings.TrimRight(s.cfg.WebURL, "/") + "/t/" + token
}

// Apply changes the session by one host message and tells the guests. It
// returns done when the host finished the session (FIN).
func (s *Session) Apply(m protocol.HostMessage) (done bool, err error) {
	changed, done, err := s.ApplyQuiet(m)
	if changed {
		s.changed()
	}
	return done, err
}

// ApplyQuiet is Apply without telling the guests: it reports whether what
// they see may have changed, and the caller calls NotifyGuests once it has
// applied what it has at hand. A host's reader uses it so that several
// messages that arrived together make one frame, not a first frame with the
// rest of the change left waiting for the next one.
func (s *Session) ApplyQuiet(m protocol.HostMessage) (changed, done bool, err error) {
	switch m := m.(type) {
	case *protocol.FailedCmd:
		s.showFailure(m.ClientID, m.Cause)
		return true, false, nil
	case *protocol.Ready:
		return false, false, s.announce()
	case *protocol.Fin:
		return false, true, nil
	}
	changed, err = s.applyState(m)
	return changed, false, err
}

// applyState applies a message that changes the session's state. The lock
// is released in a defer: a panic here (in the emulator, the layout,
// options, a snapshot), which ends the session (Crash), must not leave the
// session locked for its guests.
func (s *Session) applyState(m protocol.HostMessage) (changed bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, output := m.(*protocol.PtyData); !output {
		// Counted once the message is applied: what reads the options
		// while it is applied must not keep them for after.
		defer func() {
			s.stateGen++
			s.syncCopyScreens()
		}()
	}
	switch m := m.(type) {
	case *protocol.PtyData:
		now := time.Now().UnixNano() // one clock read for the activity and the guests
		s.activity.at.Store(now)
		if p := s.panes[m.PaneID]; p != nil {
			bells, title := p.emu.Bells(), p.emu.Title()
			p.emu.Write(m.Data)
			if p.emu.Title() != title {
				s.viewGen++ // window formats read it (#T)
			}
			s.noteOutput(m.PaneID, len(m.Data), p.emu.Bells() != bells)
			s.noteData(now)
			if short := p.emu.Short(); short != nil { // the message is built for a refusal only: output comes a keystroke at a time
				err = s.cellsRefusal(short, "the output of pane "+strconv.Itoa(m.PaneID))
			}
		}
	case *protocol.SyncLayout:
		err = s.applyLayout(m)
	case *protocol.SyncCopyMode:
		if p := s.panes[m.PaneID]; p != nil {
			p.copy.mode = m.CopyMode
			if m.CopyMode == nil || m.CopyMode.Backing {
				p.dropOutput()
			}
		}
	case *protocol.WriteCopyMode:
		if p := s.panes[m.PaneID]; p != nil {
			if p.copy.mode == nil {
				// tmate writes output only to a pane in copy mode over an
				// output view, but does not sync the mode when its
				// configuration's messages (the start-up tips) open that
				// view: the mode is as window_copy_init leaves it.
				p.copy.mode = &protocol.CopyMode{}
			}
			p.writeOutput(m.Text, s.cfg.HistoryLines, s.cells)
			err = s.cellsRefusal(p.out.Short(), "the copy-mode text of pane "+strconv.Itoa(m.PaneID))
		}
	case *protocol.Status:
		s.statusLeft, s.statusRight = m.Left, m.Right
		s.statusFromHost = true
	case *protocol.ExecCmd:
		err = s.applyCommand(m.Argv)
	case *protocol.Uname:
		s.hostName = m.Nodename
	case *protocol.Snapshot:
		err = s.applySnapshot(m)
	default:
		return false, nil // nothing a guest sees
	}
	return true, err
}

// NotifyGuests tells every guest that the state moved on; it never blocks.
func (s *Session) NotifyGuests() { s.changed() }

// An InlineDrawer draws a guest's frame in the goroutine that changed the
// session, when the guest's own loop is idle (viewer).
type InlineDrawer interface {
	// DrawNow draws and writes the guest's frame of the newest state and
	// reports whether it did (or ended the session trying); false leaves
	// it to the guest's loop. slow is called, from another goroutine, if
	// the write takes long.
	DrawNow(slow func()) bool
}

// SetInlineDrawer lets NotifyGuestsDrawingOne draw g's frames with d (nil:
// no more).
func (s *Session) SetInlineDrawer(g *Guest, d InlineDrawer) {
	s.mu.Lock()
	g.drawer = d
	s.mu.Unlock()
}

// NotifyGuestsDrawingOne is NotifyGuests for a change after a quiet spell
// (the echo of a key): one guest, the last to type if it can be, is drawn
// in the calling goroutine, which spares the echo the wake-up of that
// guest's goroutine; the others are told first, so that their goroutines
// draw meanwhile. slow is as for InlineDrawer: the caller hands its work
// on to another goroutine if a write blocks.
func (s *Session) NotifyGuestsDrawingOne(slow func()) {
	if pick, d := s.tellAllButOne(); d != nil && !d.DrawNow(slow) {
		pick.poke()
	}
}

// tellAllButOne tells every guest of a change but the one to draw in the
// caller, which it returns with its drawer (nil, nil for none).
func (s *Session) tellAllButOne() (*Guest, InlineDrawer) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	pick := s.typist.Load()
	if pick != nil && pick.drawer == nil {
		s.typist.CompareAndSwap(pick, nil) // its loop ended: let it go
		pick = nil
	}
	if pick == nil {
		for _, g := range s.guests {
			if g.drawer != nil {
				pick = g
				break
			}
		}
	}
	for _, g := range s.guests {
		if g != pick {
			g.poke()
		}
	}
	if g := s.rec.observer; g != nil {
		g.poke()
	}
	if pick == nil {
		return nil, nil
	}
	return pick, pick.drawer
}

// applyLayout replaces the layout and creates, resizes or drops pane
// emulators to match it.
func (s *Session) applyLayout(m *protocol.SyncLayout) error {
	count := 0
	for _, w := range m.Windows {
		count += len(w.Panes)
	}
	if count > s.cfg.MaxPanes {
		return fmt.Errorf("layout has %d panes, the limit is %d", count, s.cfg.MaxPanes)
	}
	if err := s.admitLayout(m); err != nil {
		return err
	}
	s.sx, s.sy = m.SX, m.SY
	seen := make(map[int]bool, count)
	for _, w := range m.Windows {
		for _, p := range w.Panes {
			seen[p.ID] = true
		}
	}
	// Panes that are gone give their cells back before new ones draw.
	for id, p := range s.panes {
		if !seen[id] {
			p.emu.Release()
			p.dropOutput()
			delete(s.panes, id)
		}
	}
	windows := make([]window, 0, len(m.Windows))
	for _, w := range m.Windows {
		win := window{idx: w.Idx, name: w.Name, activePane: w.ActivePaneID}
		for _, p := range w.Panes {
			win.panes = append(win.panes, paneGeom{id: p.ID, x: p.XOff, y: p.YOff, w: p.SX, h: p.SY})
			if cur := s.panes[p.ID]; cur == nil {
				emu := vt.New(p.SX, p.SY, s.cfg.HistoryLines)
				if err := s.cellsRefusal(emu.SetPool(s.cells), "this layout"); err != nil {
					return err
				}
				s.panes[p.ID] = &pane{emu: emu}
			} else if cw, ch := cur.emu.Size(); cw != p.SX || ch != p.SY {
				cur.emu.Resize(p.SX, p.SY)
				if err := s.cellsRefusal(cur.emu.Short(), "this layout"); err != nil {
					return err
				}
				if cur.out != nil {
					cur.out.Resize(p.SX, p.SY)
					if err := s.cellsRefusal(cur.out.Short(), "this layout"); err != nil {
						return err
					}
				}
			}
		}
		windows = append(windows, win)
	}
	sort.Slice(windows, func(i, j int) bool { return windows[i].idx < windows[j].idx })
	if m.ActiveWindowIdx != s.activeWindow {
		if s.windowByIdx(s.activeWindow) != nil {
			s.lastWindow = s.activeWindow
		}
		s.activeWindow = m.ActiveWindowIdx
		s.windowBecameCurrent(s.activeWindow)
	}
	s.windows = windows
	s.forgetAlerts()
	if s.windowByIdx(s.lastWindow) == nil {
		s.lastWindow = -1
	}
	return nil
}

func (s *Session) windowByIdx(idx int) *window {
	for i := range s.windows {
		if s.windows[i].idx == idx {
			return &s.windows[i]
		}
	}
	return nil
}

// applyCommand takes one command the host replicates: key bindings, the
// prefix, options, and the tmate-set options the relay interprets. It fails
// only for a host that refuses a required recording (applyRecordOption):
// the host's own tmux accepted the command, and one the relay cannot use
// only means guests do without it.
func (s *Session) applyCommand(argv []string) error {
	if len(argv) >= 3 && (argv[0] == "set-option" || argv[0] == "set") {
		name, value := argv[len(argv)-2], argv[len(argv)-1]
		if name == "tmate-set" && value == "foreground=true" {
			s.foreground = true
			return nil
		}
		if s.access.apply(name, value) {
			return nil
		}
		if ok, err := s.applyRecordOption(name, value); ok {
			return err
		}
	}
	s.opts.apply(argv, s.activeWindow)
	s.alertsAfterCommand(argv)
	s.keys.Apply(argv)
	return nil
}

// announce sends what the host shows and scripts read once it is ready,
// in the order the original server uses.
func (s *Session) announce() error {
	if err := s.admit(); err != nil {
		return err
	}
	if err := s.startRecording(); err != nil {
		return err
	}
	ro, rw := s.SSHCommand(s.roToken), s.SSHCommand(s.token)
	s.mu.RLock()
	fg := s.foreground
	s.mu.RUnlock()
	// The note and the addresses are shown once per session: a host that
	// reconnects still has them in show-messages, and hears "Reconnected"
	// (afterReady). The environment is set on every connection.
	s.rc.mu.Lock()
	hint := !s.rc.hinted
	s.rc.hinted = true
	s.rc.mu.Unlock()
	var msgs []func() error
	notify := func(msg string) {
		if hint {
			msgs = append(msgs, func() error { return s.host.Notify(msg) })
		}
	}
	setEnv := func(name, value string) {
		msgs = append(msgs, func() error { return s.host.SetEnv(name, value) })
	}
	if !fg {
		notify("Note: clear your terminal before sharing readonly access")
	}
	if web := s.cfg.WebURL; web != "" {
		webRO, webRW := s.WebURL(s.roToken), s.WebURL(s.token)
		notify("web session read only: " + webRO)
		notify("ssh session read only: " + ro)
		notify("web session: " + webRW)
		notify("ssh session: " + rw)
		setEnv("tmate_web_ro", webRO)
		setEnv("tmate_ssh_ro", ro)
		setEnv("tmate_web", webRW)
		setEnv("tmate_ssh", rw)
	} else {
		notify("ssh session read only: " + ro)
		notify("ssh session: " + rw)
		setEnv("tmate_ssh_ro", ro)
		setEnv("tmate_ssh", rw)
	}
	msgs = append(msgs, s.reconnectionData()...)
	msgs = append(msgs, s.host.Ready)
	msgs = append(msgs, s.afterReady()...)
	for _, send := range msgs {
		if err := send(); err != nil {
			return err
		}
	}
	return s.sendSize()
}

// changed tells every guest that the state moved on; it never blocks.
func (s *Session) changed() {
	s.mu.RLock()
	for _, g := range s.guests {
		g.poke()
	}
	if g := s.rec.observer; g != nil {
		g.poke()
	}
	s.mu.RUnlock()
}

// View fills v with what guests draw now. The caller must hold the read lock
// (see Compose).
func (s *Session) view(v *guest.View, g *Guest) {
	o := s.resolvedOptions()
	v.W, v.H = s.sx, s.sy
	v.Panes = v.Panes[:0]
	v.Windows = v.Windows[:0]
	v.StatusLeft, v.StatusRight = s.statusLeft, s.statusRight
	v.Rings = s.rings
	s.optionsView(v, o)
	v.Message, v.Prompt, v.Local, _ = g.shown()
	if v.Message == "" {
		v.Message = s.awayNotice
	}
	v.ActivePane = -1
	for i := range s.windows {
		w := &s.windows[i]
		if w.idx != s.activeWindow {
			continue
		}
		v.ActivePane = w.activePane
		if v.Prompt.Text != "" {
			for i, p := range w.panes {
				if p.id == w.activePane {
					v.Prompt.Text = expandPrompt(v.Prompt.Text, i, w)
				}
			}
		}
		zoomed := isZoomed(w, s.sx, s.sy)
		wo := &o.windows[i]
		for j, p := range w.panes {
			if zoomed && p.id != w.activePane {
				continue
			}
			if pn := s.panes[p.id]; pn != nil {
				var scr guest.Screen = pn.emu
				if m := pn.copy.mode; m != nil && (m.Backing || pn.out != nil) {
					scr = &pn.copy // set up by syncCopyScreens
				}
				v.Panes = append(v.Panes, guest.PaneView{ID: p.id, Index: wo.paneBase + j,
					X: p.x, Y: p.y, W: p.w, H: p.h, Screen: scr})
			}
		}
	}
	for i := range s.windows {
		w := &s.windows[i]
		active := w.idx == s.activeWindow
		wv := guest.WindowView{
			Index: w.idx, Name: w.name, Active: active, Last: w.idx == s.lastWindow,
			Zoomed: isZoomed(w, s.sx, s.sy), // tmux flags any zoomed window, not only the active one
		}
		s.windowOptionsView(&wv, w, &o.windows[i])
		v.Windows = append(v.Windows, wv)
	}
	v.PanesColour, v.PanesActiveColour, v.ModeStyle = o.panesColour, o.panesActiveColour, o.modeStyle
}

// syncCopyScreens points each pane in copy mode at the screen it shows and
// gives it its window's mode options, once the host changed the session's
// state: guests compose frames under the read lock, several at once, and
// only read them. The caller holds mu.
func (s *Session) syncCopyScreens() {
	o := s.resolvedOptions()
	for i := range s.windows {
		wo := &o.windows[i]
		for _, p := range s.windows[i].panes {
			pn := s.panes[p.id]
			if pn == nil || pn.copy.mode == nil {
				continue
			}
			pn.copy.emu = pn.emu
			if !pn.copy.mode.Backing && pn.out != nil {
				pn.copy.emu = pn.out
			}
			pn.copy.viKeys, pn.copy.style = wo.viKeys, wo.modeStyle
		}
	}
}

// expandPrompt expands the formats a prompt string may use for the active
// pane and window (#P, #I, #W and their long forms), as tmux does when it
// opens the prompt; others are left as they are.
func expandPrompt(s string, idx int, w *window) string {
	if !strings.Contains(s, "#") {
		return s
	}
	vars := []struct{ short, long, val string }{
		{"#P", "#{pane_index}", strconv.Itoa(idx)},
		{"#I", "#{window_index}", strconv.Itoa(w.idx)},
		{"#W", "#{window_name}", w.name},
	}
	var b strings.Builder
next:
	for i := 0; i < len(s); i++ {
		for _, v := range vars {
			for _, name := range []string{v.short, v.long} {
				if strings.HasPrefix(s[i:], name) {
					b.WriteString(v.val)
					i += len(name) - 1
					continue next
				}
			}
		}
		switch {
		case strings.HasPrefix(s[i:], "##"):
			b.WriteByte('#')
			i++
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// isZoomed tells whether a window shows one pane over the others: tmate
// sends a zoomed window's active pane at the full window size while the
// others keep their places.
func isZoomed(w *window, sx, sy int) bool {
	if len(w.panes) < 2 {
		return false
	}
	for _, p := range w.panes {
		if p.id == w.activePane {
			return p.x == 0 && p.y == 0 && p.w == sx && p.h == sy
		}
	}
	return false
}

// Compose draws the session for g into f, at g's view size (viewSize).
// When nothing but the panes' contents (and the status line's clock) can
// have changed since g's previous frame into f, it leaves g's view as it
// was and tells guest.Compose so: an echo then builds no view and hashes
// none.
func (s *Session) Compose(g *Guest, f *guest.Frame) {
	s.mu.RLock()
	defer s.mu.RUnlock() // a panic here, which ends the session, must not leave it locked
	w, h := s.viewSize(g)
	stamp := viewStamp{frame: f, stateGen: s.stateGen, viewGen: s.viewGen, shownGen: g.shownGen()}
	if stamp == g.stamp {
		g.view.StatusClock = s.resolvedOptions().statusClock()
		guest.ComposeSameView(&g.view, w, h, f)
		return
	}
	s.view(&g.view, g)
	g.stamp = stamp
	guest.Compose(&g.view, w, h, f)
}

// viewStamp is what a guest's view was built from, apart from the panes'
// contents and the time: the frame it was drawn into, the session's
// counters and the guest's own (Guest.shownGen). The view does not
// depend on the guest's size (guest.ComposeSameView draws anew at
// another).
type viewStamp struct {
	frame                       *guest.Frame
	stateGen, viewGen, shownGen uint64
}

// MaxObserverSize bounds each dimension of the observer's view, as
// viewer.ClampSize bounds a guest's terminal.
const MaxObserverSize = 1000

// viewSize is the size g's frames are drawn at: its terminal's, except that
// a read-only guest, which does not size the window (sendSize), gets no
// more than the window and one row for its status line. Beyond that a
// tmux client shows only filler; drawing it would let anyone with the
// read-only link make the relay compose and diff a 1000x1000 frame per
// guest for an 80x24 session. The caller holds mu.
func (s *Session) viewSize(g *Guest) (w, h int) {
	if g.observer {
		// The host alone names the window's size; a guest's terminal is
		// bounded as any guest's is (viewer.ClampSize), so that a host
		// claiming a huge window cannot make the recorder compose frames
		// of gigabytes.
		return min(s.sx, MaxObserverSize), min(s.sy+1, MaxObserverSize)
	}
	w, h = g.w, g.h
	if g.ReadOnly && s.sx > 0 && s.sy > 0 {
		w, h = min(w, s.sx), min(h, s.sy+1)
	}
	return w, h
}

package session

import (
	"strconv"
	"time"

	"tmate-relay/service/guest"
	"tmate-relay/service/keys"
)

// Window alerts, as tmux 2.4 keeps them on its winlinks (alerts.c): a bell
// in a window that is not the current one flags it '!' (whatever
// bell-action says; not with monitor-activity on, see noteOutput), output
// flags it '#' when its monitor-activity is on, and monitor-silence seconds
// without output flag it '~'. Becoming the current window clears them all.
// The relay derives them from the PTY_DATA it mirrors, as the host's tmux
// does from the same bytes; visual-bell, visual-activity and visual-silence
// show their messages to every guest.

type alertFlags uint8

const (
	alertActivity alertFlags = 1 << iota
	alertBell
	alertSilence
)

// windowAlerts is the alert state of the session's windows, by index.
type windowAlerts struct {
	flags   map[int]alertFlags
	silence map[int]*silenceTimer
	// now and afterFunc are time.Now and time.AfterFunc when nil; tests
	// set their own clock and fire the timers by hand.
	now       func() time.Time
	afterFunc func(time.Duration, func()) *time.Timer
}

// silenceTimer fires monitor-silence seconds after a window's last output.
// A window has one, made when its silence is first armed and reset by
// every output after that: a busy pane's PTY_DATA then costs no
// allocation. due tells a firing that is still current from one whose
// window had output while it waited for the lock.
type silenceTimer struct {
	timer *time.Timer
	due   time.Time
}

func (a *windowAlerts) clock() time.Time {
	if a.now != nil {
		return a.now()
	}
	return time.Now()
}

// noteOutput records n bytes of a pane's output (bell: it rang the bell)
// against its window's alerts. The caller holds s.mu.
func (s *Session) noteOutput(paneID, n int, bell bool) {
	i := s.windowOfPane(paneID)
	if i < 0 || n == 0 {
		return // tmux counts no activity for an empty read
	}
	o := &s.resolvedOptions().windows[i]
	idx := s.windows[i].idx
	s.restartSilence(idx, o.monitorSilence)
	current := idx == s.activeWindow
	// tmux 2.4 queues the output's activity before it reads the bytes,
	// and drops alerts queued while a check is pending: with
	// monitor-activity on, that check is already pending when a BEL comes,
	// so such a window never shows '!' nor rings.
	if o.monitorActivity {
		if !current && s.setAlert(idx, alertActivity) {
			s.visualAlert("visual-activity", "Activity in window "+strconv.Itoa(idx))
		}
		return
	}
	if !bell {
		return
	}
	if !current {
		s.setAlert(idx, alertBell)
	}
	s.bellAlert(idx, current)
}

// bellAlert is what alerts_check_bell does for each client, by
// bell-action: with visual-bell on a status-line message, else a ring of
// the guest's terminal bell (counted in rings).
func (s *Session) bellAlert(idx int, current bool) {
	action := s.opts.sessionOpt("bell-action")
	if !(action == "any" || action == "current" && current || action == "other" && !current) {
		return
	}
	switch {
	case s.opts.sessionOpt("visual-bell") != "on":
		s.rings++
		s.viewGen++
	case action == "current":
		s.showAll("Bell in current window")
	default:
		s.showAll("Bell in window " + strconv.Itoa(idx))
	}
}

// visualAlert shows msg to every guest when the session option named
// visual (visual-activity, visual-silence) is on.
func (s *Session) visualAlert(visual, msg string) {
	if s.opts.sessionOpt(visual) == "on" {
		s.showAll(msg)
	}
}

// showAll shows a status-line message to every guest for display-time.
// The caller holds s.mu.
func (s *Session) showAll(msg string) {
	for _, g := range s.guests {
		g.ShowMessage(msg, s.messageTime())
	}
}

// windowOfPane is the position in s.windows of the window holding
// paneID, -1 for none.
func (s *Session) windowOfPane(paneID int) int {
	for i := range s.windows {
		for _, p := range s.windows[i].panes {
			if p.id == paneID {
				return i
			}
		}
	}
	return -1
}

// setAlert flags window idx and reports whether the flag is new.
func (s *Session) setAlert(idx int, f alertFlags) bool {
	if s.alerts.flags == nil {
		s.alerts.flags = map[int]alertFlags{}
	}
	had := s.alerts.flags[idx]
	if had&f != 0 {
		return false
	}
	s.alerts.flags[idx] |= f
	s.viewGen++
	return true
}

// windowBecameCurrent clears a window's alerts (winlink_clear_flags) and,
// as tmux counts selecting a window as activity, restarts its silence.
func (s *Session) windowBecameCurrent(idx int) {
	delete(s.alerts.flags, idx)
	s.viewGen++
	s.restartSilence(idx, s.monitorSilence(idx))
}

// forgetAlerts drops the alerts of windows that no longer exist, so that a
// new window in their place starts without them.
func (s *Session) forgetAlerts() {
	for idx := range s.alerts.flags {
		if s.windowByIdx(idx) == nil {
			delete(s.alerts.flags, idx)
			s.viewGen++
		}
	}
	for idx, st := range s.alerts.silence {
		if s.windowByIdx(idx) == nil {
			st.timer.Stop()
			delete(s.alerts.silence, idx)
		}
	}
}

// restartSilence (re)arms window idx's silence timer for its
// monitor-silence of secs seconds, or stops it when that is 0
// (alerts_reset).
func (s *Session) restartSilence(idx, secs int) {
	if secs <= 0 {
		if st := s.alerts.silence[idx]; st != nil {
			st.timer.Stop()
			delete(s.alerts.silence, idx)
		}
		return
	}
	st := s.alerts.silence[idx]
	d := time.Duration(secs) * time.Second
	if st != nil {
		st.due = s.alerts.clock().Add(d)
		st.timer.Reset(d)
		return
	}
	if s.alerts.silence == nil {
		s.alerts.silence = map[int]*silenceTimer{}
	}
	st = &silenceTimer{due: s.alerts.clock().Add(d)}
	after := s.alerts.afterFunc
	if after == nil {
		after = time.AfterFunc
	}
	st.timer = after(d, func() { s.silenceExpired(idx, st) })
	s.alerts.silence[idx] = st
}

// silenceExpired is window idx's silence timer st going off.
func (s *Session) silenceExpired(idx int, st *silenceTimer) {
	defer s.Recover("silence alert") // its own goroutine (a timer's)
	select {
	case <-s.done:
		return
	default:
	}
	if s.flagSilence(idx, st) {
		s.changed()
	}
}

// flagSilence flags window idx '~' unless its timer st was stopped or
// reset since it went off (output came), or it is the current window; it
// reports whether it did.
func (s *Session) flagSilence(idx int, st *silenceTimer) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	flagged := s.alerts.silence[idx] == st && !s.alerts.clock().Before(st.due) &&
		idx != s.activeWindow && s.windowByIdx(idx) != nil
	if flagged && s.setAlert(idx, alertSilence) {
		s.visualAlert("visual-silence", "Silence in window "+strconv.Itoa(idx))
	}
	return flagged
}

// alertsAfterCommand restarts every window's silence timer when the host
// changed monitor-silence, as tmux does when the option is set. The
// caller holds s.mu.
func (s *Session) alertsAfterCommand(argv []string) {
	if len(argv) == 0 {
		return
	}
	switch keys.CommandName(argv[0]) {
	case "set-option", "set-window-option":
	default:
		return
	}
	for _, a := range argv[1:] {
		if a == "monitor-silence" {
			for i := range s.windows {
				idx := s.windows[i].idx
				s.restartSilence(idx, s.monitorSilence(idx))
			}
			return
		}
	}
}

// alertsView fills a window's alert flags and the style they are drawn
// with (status_print: the bell style over the activity one), from its
// options o.
func (s *Session) alertsView(wv *guest.WindowView, o *windowOpts) {
	f := s.alerts.flags[wv.Index]
	wv.Activity, wv.Bell, wv.Silence = f&alertActivity != 0, f&alertBell != 0, f&alertSilence != 0
	switch {
	case wv.Bell:
		wv.AlertStyle = o.bellStyle
	case wv.Activity || wv.Silence:
		wv.AlertStyle = o.activityStyle
	}
}

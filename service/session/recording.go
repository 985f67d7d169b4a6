package session

import (
	"fmt"
	"strconv"
)

// Recording a session: the relay keeps a virtual guest (an observer) that
// sees the session at its own size and is told what happens besides the
// screen (markers, guests' keys). The observer is no guest: it is not
// counted, never sizes the window and is not announced to the host. The
// recorder itself is service/recording.

// RecordOption is the tmux user option a host sets to refuse recording:
// `set -g @tmate-relay-record off` in its tmate configuration.
const RecordOption = "@tmate-relay-record"

// Observer is told what happens in a recorded session besides its screen.
type Observer interface {
	// Mark notes an event: guests joining and leaving, the host
	// reconnecting.
	Mark(label string)
	// Input is what a read-write guest typed.
	Input(p []byte)
	// Stop ends the recording early: the host refused it while the
	// session ran.
	Stop(why string)
}

// Recorder starts recording a session when its host is READY.
type Recorder interface {
	// Record starts recording s; restarted says the session came back
	// after a relay restart (its earlier part was recorded by another
	// process). It returns a problem that stops the session only when
	// recording is required; any later failure stops the recording only.
	Record(s *Session, restarted bool) error
}

// RecordPolicy is what the relay does about recording ([recording]).
type RecordPolicy struct {
	Recorder Recorder // nil: sessions are not recorded
	// Required refuses a host that refuses recording; otherwise its
	// session runs unrecorded.
	Required bool
}

// recordState is a session's recording, under Session.mu.
type recordState struct {
	refused  bool     // the host set RecordOption off
	started  bool     // Recorder.Record ran for this session
	observer *Guest   // the recorder's view, nil when not recording
	obs      Observer // told of marks and input
}

// applyRecordOption takes the host's RecordOption; it reports whether name
// was it. A host that refuses while its session is recorded by a relay
// that requires recording gets a RefusedError, which ends the session: it
// must not run on unrecorded. The caller holds mu.
func (s *Session) applyRecordOption(name, value string) (bool, error) {
	if name != RecordOption {
		return false, nil
	}
	on, err := strconv.ParseBool(value)
	if err != nil {
		on = value != "off" && value != "no"
	}
	s.rec.refused = !on
	obs := s.rec.obs
	if obs == nil || on {
		return true, nil
	}
	required := s.cfg.Record.Required
	// Not under mu: stopping takes it.
	go func() {
		obs.Stop(HostRefusedRecording)
		if !required {
			s.host.Notify("Relay: recording stopped, as the host asked (" + RecordOption + " off).")
		}
	}()
	if required {
		return true, &RefusedError{"Relay: this relay records every session, and this host refused (" + RecordOption + " off) while the session ran; the session ends. Remove that setting to share through this relay."}
	}
	return true, nil
}

// HostRefusedRecording is why a recording stopped when its host set
// RecordOption off while the session ran.
const HostRefusedRecording = "refused by the host"

// startRecording runs at READY, after admit: it tells the host whether the
// session is recorded, and starts the recorder once per session.
func (s *Session) startRecording() error {
	pol := s.cfg.Record
	if pol.Recorder == nil {
		return nil
	}
	s.mu.Lock()
	refused, started := s.rec.refused, s.rec.started
	s.mu.Unlock()
	if refused {
		if pol.Required {
			return &RefusedError{"Relay: this relay records every session, and this host refused (" + RecordOption + " off). Remove that setting to share through this relay."}
		}
		return s.host.Notify("Relay: this session is not recorded, as the host asked (" + RecordOption + " off).")
	}
	if started && !s.Recorded() {
		// Back after a reconnection, its recording stopped meanwhile (a
		// full disk, max_bytes): the host hears so, not "recorded".
		return s.host.Notify("Relay: this session's recording has stopped; the rest of it is not recorded.")
	}
	if err := s.host.Notify("Relay: this session is recorded (to refuse: set -g " + RecordOption + " off)"); err != nil {
		return err
	}
	s.rc.mu.Lock()
	resumed := s.rc.resumed
	s.rc.mu.Unlock()
	if started {
		if resumed {
			s.mark("host reconnected")
		}
		return nil
	}
	s.mu.Lock()
	s.rec.started = true
	s.mu.Unlock()
	if err := pol.Recorder.Record(s, resumed); err != nil && pol.Required {
		return &RefusedError{"Relay: this relay records every session, and cannot record this one now: " + err.Error()}
	}
	return nil
}

// Observe makes the session's observer: a view of the session at its own
// size (the window and the status line), which Compose draws as for a
// guest and whose Changed signals as a guest's do; obs is told of marks
// and input. Unobserve ends it.
func (s *Session) Observe(obs Observer) *Guest {
	g := &Guest{ReadOnly: true, Addr: "recording", observer: true, joined: s.started,
		changed: make(chan struct{}, 1), kicked: make(chan struct{})}
	s.mu.Lock()
	s.rec.observer, s.rec.obs = g, obs
	s.mu.Unlock()
	g.poke()
	return g
}

// Unobserve stops telling the observer anything.
func (s *Session) Unobserve(g *Guest) {
	s.mu.Lock()
	if s.rec.observer == g {
		s.rec.observer, s.rec.obs = nil, nil
	}
	s.mu.Unlock()
}

// Recorded reports whether the session is being recorded now.
func (s *Session) Recorded() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.rec.obs != nil
}

// mark tells the observer, if any, of an event.
func (s *Session) mark(label string) {
	s.mu.RLock()
	obs := s.rec.obs
	s.mu.RUnlock()
	if obs != nil {
		obs.Mark(label)
	}
}

// NoteInput tells the observer what read-write guest g typed.
func (s *Session) NoteInput(g *Guest, p []byte) {
	if g.ReadOnly {
		return
	}
	s.mu.RLock()
	obs := s.rec.obs
	s.mu.RUnlock()
	if obs != nil {
		obs.Input(p)
	}
}

// guestMark is the marker of a guest joining or leaving.
func guestMark(what string, g *Guest) string {
	role := "rw"
	if g.ReadOnly {
		role = "ro"
	}
	return fmt.Sprintf("guest %s: %s %s %s", what, g.Addr, role, g.Transport)
}

// RecordingNotice is what a guest of a recorded session reads on joining.
const RecordingNotice = "This session is recorded by the relay."

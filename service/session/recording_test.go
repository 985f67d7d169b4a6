package session

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"tmate-relay/service/guest"
	"tmate-relay/service/protocol"
)

// fakeRecorder observes the sessions it is asked to record.
type fakeRecorder struct {
	mu        sync.Mutex
	calls     int
	restarted bool
	marks     []string
	input     []string
	observer  *Guest
}

func (r *fakeRecorder) Record(s *Session, restarted bool) error {
	r.mu.Lock()
	r.calls++
	r.restarted = restarted
	r.mu.Unlock()
	r.observer = s.Observe(r)
	return nil
}

func (r *fakeRecorder) Mark(label string) {
	r.mu.Lock()
	r.marks = append(r.marks, label)
	r.mu.Unlock()
}

func (r *fakeRecorder) Stop(why string) { r.Mark("stop: " + why) }

func (r *fakeRecorder) Input(p []byte) {
	r.mu.Lock()
	r.input = append(r.input, string(p))
	r.mu.Unlock()
}

func notices(sent []string) string {
	var out []string
	for _, m := range sent {
		if strings.HasPrefix(m, "NOTIFY Relay: this session") || strings.HasPrefix(m, "SET_ENV tmate_num_clients") {
			out = append(out, m)
		}
	}
	return strings.Join(out, "\n")
}

func TestRecordingConsent(t *testing.T) {
	tests := []struct {
		name      string
		refuse    bool
		required  bool
		recorded  bool
		refusal   string
		hostHears string
	}{
		{"recorded", false, false, true, "", "NOTIFY Relay: this session is recorded (to refuse: set -g @tmate-relay-record off)"},
		{"host refuses, runs unrecorded", true, false, false, "", "NOTIFY Relay: this session is not recorded, as the host asked (@tmate-relay-record off)."},
		{"host refuses, relay requires", true, true, false, "Relay: this relay records every session, and this host refused (@tmate-relay-record off)", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &fakeRecorder{}
			s, h := newTestSession(t, Config{Record: RecordPolicy{Recorder: rec, Required: tc.required}})
			var opts [][2]string
			if tc.refuse {
				opts = append(opts, [2]string{RecordOption, "off"})
			}
			err := hostSays(t, s, opts...)
			if got := refusal(t, err); !strings.HasPrefix(got, tc.refusal) || (tc.refusal == "") != (got == "") {
				t.Fatalf("refusal %q, want %q", got, tc.refusal)
			}
			if got := notices(h.take()); !strings.Contains(got, tc.hostHears) {
				t.Errorf("host heard\n%s\nwant %s", got, tc.hostHears)
			}
			if rec.calls != map[bool]int{false: 0, true: 1}[tc.recorded] || s.Recorded() != tc.recorded {
				t.Errorf("Record called %d times, Recorded() %v; want recorded %v", rec.calls, s.Recorded(), tc.recorded)
			}
		})
	}
}

// The recording's observer is no guest: the host never hears of it and it
// never sizes the window; guests are told of the recording and marked.
func TestRecordingObserverIsNoGuest(t *testing.T) {
	rec := &fakeRecorder{}
	s, h := newTestSession(t, Config{Record: RecordPolicy{Recorder: rec}})
	if err := hostSays(t, s); err != nil {
		t.Fatal(err)
	}
	h.take()
	g, err := s.Attach(false, "192.0.2.7", 100, 30)
	if err != nil {
		t.Fatal(err)
	}
	if got := notices(h.take()); got != "SET_ENV tmate_num_clients=1" {
		t.Errorf("host heard %q: the observer counted as a client?", got)
	}
	if msg := g.currentMessage(); msg != RecordingNotice {
		t.Errorf("the guest reads %q on joining, want %q", msg, RecordingNotice)
	}
	s.NoteInput(g, []byte("ls\r"))
	ro, _ := s.Attach(true, "192.0.2.8", 10, 5)
	s.NoteInput(ro, []byte("ignored"))
	s.Detach(g)
	want := []string{"guest joined: 192.0.2.7 rw ssh", "guest joined: 192.0.2.8 ro ssh", "guest left: 192.0.2.7 rw ssh"}
	if strings.Join(rec.marks, "\n") != strings.Join(want, "\n") {
		t.Errorf("marks\n%s\nwant\n%s", strings.Join(rec.marks, "\n"), strings.Join(want, "\n"))
	}
	if strings.Join(rec.input, "") != "ls\r" {
		t.Errorf("input %q: want only the read-write guest's", rec.input)
	}
	s.mu.RLock()
	listed := slices.Contains(s.guests, rec.observer)
	s.mu.RUnlock()
	if listed {
		t.Error("the observer is among the guests")
	}
}

// A host that sets the option off while the session runs stops the
// recording, and is told so.
func TestRecordingRefusedWhileRunning(t *testing.T) {
	rec := &fakeRecorder{}
	s, h := newTestSession(t, Config{Record: RecordPolicy{Recorder: rec}})
	if err := hostSays(t, s); err != nil {
		t.Fatal(err)
	}
	h.take()
	apply(t, s, &protocol.ExecCmd{Argv: []string{"set-option", "-g", RecordOption, "off"}})
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		rec.mu.Lock()
		marks := strings.Join(rec.marks, "\n")
		rec.mu.Unlock()
		heard := strings.Join(h.take(), "\n")
		if strings.Contains(marks, "stop: "+HostRefusedRecording) && strings.Contains(heard, "NOTIFY Relay: recording stopped, as the host asked") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("marks %q, host heard %q", marks, heard)
		}
	}
}

// A host that reconnects to its live session is marked in the recording
// that goes on; a session made again after a relay restart starts a new
// one that says so.
func TestRecordingHostReconnectAndRelayRestart(t *testing.T) {
	rec := &fakeRecorder{}
	s, _ := newTestSession(t, Config{Record: RecordPolicy{Recorder: rec}})
	if err := hostSays(t, s); err != nil {
		t.Fatal(err)
	}
	s.rc.mu.Lock()
	s.rc.resumed = true // as Registry.Resume leaves it
	s.rc.mu.Unlock()
	apply(t, s, &protocol.Ready{})
	if rec.calls != 1 || strings.Join(rec.marks, ",") != "host reconnected" {
		t.Errorf("after a reconnection: %d recordings, marks %q", rec.calls, rec.marks)
	}

	again := &fakeRecorder{}
	s2, _ := newTestSession(t, Config{Record: RecordPolicy{Recorder: again}})
	s2.rc.resumed = true
	if err := hostSays(t, s2); err != nil {
		t.Fatal(err)
	}
	if again.calls != 1 || !again.restarted {
		t.Errorf("after a relay restart: %d recordings, restarted %v", again.calls, again.restarted)
	}
}

// A host that reconnects after its recording stopped (a full disk,
// max_bytes) is told it is no longer recorded, not that it is.
func TestReconnectedHostHearsItsRecordingStopped(t *testing.T) {
	rec := &fakeRecorder{}
	s, h := newTestSession(t, Config{Record: RecordPolicy{Recorder: rec}})
	if err := hostSays(t, s); err != nil {
		t.Fatal(err)
	}
	s.Unobserve(rec.observer) // as the recorder does when it stops
	h.take()
	s.rc.mu.Lock()
	s.rc.resumed = true
	s.rc.mu.Unlock()
	apply(t, s, &protocol.Ready{})
	got := notices(h.take())
	if strings.Contains(got, "this session is recorded") || !strings.Contains(got, "recording has stopped") {
		t.Errorf("the reconnected host heard:\n%s", got)
	}
	if rec.calls != 1 {
		t.Errorf("Record called %d times, want 1: a stopped recording does not start again", rec.calls)
	}
}

// A host naming a huge window does not make the observer's frames huge:
// they are bounded as a guest's terminal is.
func TestRecordingObserverSizeIsBounded(t *testing.T) {
	rec := &fakeRecorder{}
	s, _ := newTestSession(t, Config{Record: RecordPolicy{Recorder: rec}})
	w0 := protocol.Window{Idx: 0, Name: "sh", ActivePaneID: 1, Panes: []protocol.PaneLayout{{ID: 1, SX: 1, SY: 1}}}
	for _, tc := range []struct{ sx, sy, wantW, wantH int }{
		{80, 23, 80, 24},
		{protocol.DefaultMaxSize, protocol.DefaultMaxSize, MaxObserverSize, MaxObserverSize},
		{30, protocol.DefaultMaxSize, 30, MaxObserverSize},
	} {
		apply(t, s, layout(tc.sx, tc.sy, 0, w0))
		if rec.observer == nil {
			if err := hostSays(t, s); err != nil {
				t.Fatal(err)
			}
		}
		var f guest.Frame
		s.Compose(rec.observer, &f)
		if f.W != tc.wantW || f.H != tc.wantH {
			t.Errorf("window %dx%d: observer frame %dx%d, want %dx%d", tc.sx, tc.sy, f.W, f.H, tc.wantW, tc.wantH)
		}
	}
}

// A relay that requires recording does not let a host refuse it while the
// session runs: the recording stops there and the session ends, the host
// told why.
func TestRecordingRequiredRefusedWhileRunning(t *testing.T) {
	rec := &fakeRecorder{}
	s, _ := newTestSession(t, Config{Record: RecordPolicy{Recorder: rec, Required: true}})
	if err := hostSays(t, s); err != nil {
		t.Fatal(err)
	}
	_, err := s.Apply(&protocol.ExecCmd{Argv: []string{"set-option", "-g", RecordOption, "off"}})
	if got := refusal(t, err); !strings.Contains(got, "this relay records every session") {
		t.Fatalf("refusal %q: the session runs on unrecorded", got)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		rec.mu.Lock()
		marks := strings.Join(rec.marks, "\n")
		rec.mu.Unlock()
		if strings.Contains(marks, "stop: "+HostRefusedRecording) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("marks %q: the recording was not stopped", marks)
		}
	}
}

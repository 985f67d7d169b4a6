package recording

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tmate-relay/service/protocol"
	"tmate-relay/service/session"
)

// quietHost takes what a session sends its host.
type quietHost struct{}

func (quietHost) Notify(string) error          { return nil }
func (quietHost) Resize(int, int) error        { return nil }
func (quietHost) SetEnv(string, string) error  { return nil }
func (quietHost) Ready() error                 { return nil }
func (quietHost) PaneKey(int, uint64) error    { return nil }
func (quietHost) ExecCmd(int, ...string) error { return nil }

func recordedSession(t *testing.T, cfg Config) (*session.Session, *Recorder) {
	t.Helper()
	rec := New(cfg)
	s := session.New(session.Config{Record: session.RecordPolicy{Recorder: rec}}, quietHost{})
	if err := session.NewRegistry(0).Add(s); err != nil {
		t.Fatal(err)
	}
	return s, rec
}

func window(sx, sy int) *protocol.SyncLayout {
	return &protocol.SyncLayout{SX: sx, SY: sy, Windows: []protocol.Window{{Idx: 0, Name: "sh", ActivePaneID: 1,
		Panes: []protocol.PaneLayout{{ID: 1, SX: sx, SY: sy}}}}}
}

func apply(t *testing.T, s *session.Session, msgs ...protocol.HostMessage) {
	t.Helper()
	for _, m := range msgs {
		if _, err := s.Apply(m); err != nil {
			t.Fatalf("Apply(%T): %v", m, err)
		}
	}
}

// waitFile waits until the session's only recording holds every one of want.
func waitFile(t *testing.T, dir string, want ...string) string {
	t.Helper()
	var text string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		list, _ := List(dir)
		if len(list) == 1 {
			p, _ := Path(dir, list[0].ID)
			b, _ := os.ReadFile(p)
			text = string(b)
			missing := false
			for _, w := range want {
				missing = missing || !strings.Contains(text, w)
			}
			if !missing {
				return text
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("recording lacks one of %q:\n%s", want, text)
		}
	}
}

func TestRecorderFollowsTheSession(t *testing.T) {
	dir := t.TempDir()
	s, _ := recordedSession(t, Config{Dir: dir, RecordInput: true})
	apply(t, s, window(80, 23), &protocol.PtyData{PaneID: 1, Data: []byte("hello")}, &protocol.Ready{})
	waitFile(t, dir, `"o", "`, "hello")

	g, err := s.AttachVia(session.TransportWeb, false, "192.0.2.9", 80, 24)
	if err != nil {
		t.Fatal(err)
	}
	s.NoteInput(g, []byte("ls\r"))
	apply(t, s, window(60, 20))
	apply(t, s, &protocol.PtyData{PaneID: 1, Data: []byte("\r\ntoken " + s.Token() + "\r\nro " + s.ReadOnlyToken())})
	waitFile(t, dir, `"m", "guest joined: 192.0.2.9 rw web"`, `"i", "ls\r"`, `"r", "60x21"`, `"m", "resize 60x21"`, "token ****", "ro ****")

	s.Detach(g)
	s.End("The host closed the session.")
	text := waitFile(t, dir, `"m", "guest left: 192.0.2.9 rw web"`, `"m", "session ended: The host closed the session."`)
	if strings.Contains(text, s.Token()) || strings.Contains(text, s.ReadOnlyToken()) {
		t.Fatal("a token is in the recording")
	}
	list, _ := List(dir)
	for deadline := time.Now().Add(10 * time.Second); list[0].End.IsZero() && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		list, _ = List(dir)
	}
	if in := list[0]; in.End.IsZero() || in.Guests != 1 || in.Stopped != "" {
		t.Fatalf("ended recording: %+v", in)
	}
}

func TestRecorderWithoutInputKeepsNoKeys(t *testing.T) {
	dir := t.TempDir()
	s, rec := recordedSession(t, Config{Dir: dir})
	apply(t, s, window(80, 23), &protocol.Ready{})
	g, _ := s.Attach(false, "192.0.2.9", 80, 24)
	s.NoteInput(g, []byte("secret"))
	waitFile(t, dir, "guest joined")
	rec.Close() // the relay stops: the file says so
	text := waitFile(t, dir, `"m", "relay stopped"`)
	if strings.Contains(text, `"i"`) || strings.Contains(text, "secret") {
		t.Fatalf("keys recorded without record_input:\n%s", text)
	}
}

func TestRecorderUnwritableDirLeavesTheSessionUnrecorded(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "missing")
	s, _ := recordedSession(t, Config{Dir: dir})
	apply(t, s, window(80, 23), &protocol.Ready{}) // READY succeeds: recording is not required
	if s.Recorded() {
		t.Fatal("recorded into a missing directory")
	}
	select {
	case <-s.Done():
		t.Fatal("the session ended")
	default:
	}
}

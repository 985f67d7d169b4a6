package audit

import (
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"tmate-relay/service/logtest"
)

var sample = Event{
	Time: time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC), Kind: GuestLeave,
	SessionID: "0123456789abcdef", SessionName: "support", HostAddr: "192.0.2.1", HostKey: "SHA256:host",
	GuestAddr: "198.51.100.7", GuestKey: "SHA256:guest", Guest: 3, Transport: "ssh", Role: ReadOnly,
	Why: "disconnected", Duration: 90 * time.Second, Bytes: 12345,
}

// Every kind has the fields the audit needs; duration and bytes come with
// the kinds that end something, even when zero, and no other.
func TestFields(t *testing.T) {
	for _, tc := range []struct {
		e      Event
		want   map[string]string
		absent []string
	}{
		{sample, map[string]string{"event": "guest_leave", "session_id": "0123456789abcdef", "session_name": "support",
			"host_addr": "192.0.2.1", "host_key": "SHA256:host", "guest_addr": "198.51.100.7", "guest_key": "SHA256:guest",
			"guest": "3", "transport": "ssh", "role": "ro", "why": "disconnected", "duration_s": "90.000", "bytes": "12345"},
			[]string{"action", "caller_uid", "reason"}},
		{Event{Kind: SessionEnd, SessionID: "0123456789abcdef"}, map[string]string{"duration_s": "0.000", "bytes": "0"}, nil},
		{Event{Kind: SessionStart, SessionID: "0123456789abcdef", HostAddr: "192.0.2.1"}, map[string]string{"event": "session_start"},
			[]string{"duration_s", "bytes", "host_key", "guest_addr"}},
		{Event{Kind: GuestJoin, Role: ReadWrite, Transport: "web"}, map[string]string{"role": "rw", "transport": "web"}, []string{"duration_s", "bytes"}},
		{Event{Kind: Refusal, Reason: "bad_token", GuestAddr: "198.51.100.7"}, map[string]string{"reason": "bad_token"}, []string{"session_id", "bytes"}},
		{Event{Kind: Refusal, Reason: "limits", Addr: "198.51.100.7"}, map[string]string{"addr": "198.51.100.7"}, nil},
		{Event{Kind: Admin, Action: "kick", SessionID: "0123456789abcdef", CallerUID: 0, CallerGID: 0, CallerPID: 42, Result: "ok", Guest: 2},
			map[string]string{"action": "kick", "caller_uid": "0", "caller_gid": "0", "caller_pid": "42", "result": "ok", "guest": "2"}, []string{"duration_s"}},
		{Event{Kind: AdminPage, Action: "play", Recording: "20261203-100000-0000000a", User: "alice", Addr: "198.51.100.7", Result: "refused", Why: "wrong password"},
			map[string]string{"event": "admin_page", "action": "play", "recording": "20261203-100000-0000000a", "user": "alice", "addr": "198.51.100.7", "result": "refused", "why": "wrong password"},
			[]string{"caller_uid", "duration_s", "session_id"}},
	} {
		t.Run(string(tc.e.Kind), func(t *testing.T) {
			got := map[string]string{}
			for _, f := range tc.e.Fields() {
				got[f.Name] = f.Value
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q (all: %v)", k, got[k], v, got)
				}
			}
			for _, k := range tc.absent {
				if _, ok := got[k]; ok {
					t.Errorf("%s present: %v", k, got)
				}
			}
			if m := tc.e.Message(); m == "" || strings.Contains(m, "\n") {
				t.Errorf("message %q", m)
			}
		})
	}
}

// journald takes field names of capitals, digits and underscores that do
// not start with an underscore.
func TestJournalFieldNames(t *testing.T) {
	valid := regexp.MustCompile(`^[A-Z0-9][A-Z0-9_]{0,63}$`)
	e := sample
	e.Reason, e.Addr, e.Action, e.Result, e.Error, e.Text, e.User, e.Recording = "x", "x", "x", "x", "x", "x", "x", "x"
	for _, kind := range Kinds {
		e.Kind = kind
		for _, f := range e.Fields() {
			if n := f.JournalName(); !valid.MatchString(n) || !strings.HasPrefix(n, "TMATE_") {
				t.Errorf("journal field %q", n)
			}
		}
	}
	if n := (Field{Name: "session_id"}).JournalName(); n != "TMATE_SESSION_ID" {
		t.Errorf("session_id goes to %s", n)
	}
}

// The file gets one JSON line per event, appended to what it held, each
// there once written (Flush), while the trail still holds the file open.
// (That each write is synced to disk, no test on a live system can see.)
func TestFileAppendsJSONLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	if err := os.WriteFile(path, []byte("{\"earlier\":true}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tr, err := New(Options{File: path})
	if err != nil {
		t.Fatal(err)
	}
	tr.Emit(sample)
	tr.Emit(Event{Kind: SessionStart, SessionID: "0123456789abcdef", SessionName: "quo\"te\x1b"})
	tr.Flush()
	b, _ := os.ReadFile(path) // read while the trail still holds it open
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != 3 || lines[0] != `{"earlier":true}` {
		t.Fatalf("file:\n%s", b)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(lines[1]), &got); err != nil {
		t.Fatalf("line %q: %v", lines[1], err)
	}
	want := map[string]any{"time": "2026-12-01T09:30:00Z", "event": "guest_leave", "session_id": "0123456789abcdef",
		"guest": 3.0, "duration_s": 90.0, "bytes": 12345.0, "role": "ro", "guest_key": "SHA256:guest"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v (%T), want %v", k, got[k], got[k], v)
		}
	}
	if err := json.Unmarshal([]byte(lines[2]), &got); err != nil || got["session_name"] != "quo\"te\x1b" {
		t.Errorf("line %q: %v, name %q", lines[2], err, got["session_name"])
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	tr.Emit(sample) // after Close: dropped, no panic
}

// logrotate renames the file and sends SIGHUP: events go to the old file
// until Reopen, then to a new one at the path.
func TestReopenAfterRename(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.log")
	tr, err := New(Options{File: path})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	tr.Emit(Event{Kind: SessionStart, SessionID: "1111111111111111"})
	tr.Flush()
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	tr.Emit(Event{Kind: SessionStart, SessionID: "2222222222222222"})
	if err := tr.Reopen(); err != nil {
		t.Fatal(err)
	}
	tr.Emit(Event{Kind: SessionStart, SessionID: "3333333333333333"})
	tr.Flush()
	old, _ := os.ReadFile(path + ".1")
	cur, _ := os.ReadFile(path)
	if !strings.Contains(string(old), "1111") || !strings.Contains(string(old), "2222") || strings.Contains(string(old), "3333") {
		t.Errorf("rotated file:\n%s", old)
	}
	if strings.Count(string(cur), "\n") != 1 || !strings.Contains(string(cur), "3333") {
		t.Errorf("new file:\n%s", cur)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm()&0o007 != 0 {
		t.Errorf("new file mode: %v %v", st.Mode(), err)
	}
}

// A file that cannot be opened is an error naming it; one that cannot be
// reopened leaves the events going to the old file.
func TestBadPath(t *testing.T) {
	dir := t.TempDir()
	for _, path := range []string{filepath.Join(dir, "missing", "audit.log"), dir} {
		_, err := New(Options{File: path})
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("New(%s): %v, want an error naming the file", path, err)
		}
	}
	sub := filepath.Join(dir, "logs")
	os.Mkdir(sub, 0o755)
	path := filepath.Join(sub, "audit.log")
	var log logtest.Buffer
	tr, err := New(Options{File: path, Log: slog.New(slog.NewTextHandler(&log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	os.Rename(sub, sub+".gone") // the directory goes away: Reopen cannot create the file
	if err := tr.Reopen(); err == nil {
		t.Error("Reopen succeeded without the directory")
	}
	tr.Emit(Event{Kind: SessionStart, SessionID: "4444444444444444"})
	tr.Flush()
	if b, _ := os.ReadFile(filepath.Join(sub+".gone", "audit.log")); !strings.Contains(string(b), "4444") {
		t.Errorf("the old file lost the event:\n%s", b)
	}
	if !strings.Contains(log.String(), "cannot reopen") {
		t.Errorf("log:\n%s", log.String())
	}
}

// A failing write is logged once, not per event, and the trail goes on
// with its other sinks.
func TestWriteErrorIsLoggedOnce(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("/dev/full is needed in CI: %v", err)
		}
		t.Skip("no /dev/full on this system")
	}
	var log, stderr logtest.Buffer
	tr, err := New(Options{File: "/dev/full", Stderr: &stderr, Log: slog.New(slog.NewTextHandler(&log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	for range 3 {
		tr.Emit(sample)
	}
	tr.Flush()
	if n := strings.Count(log.String(), "cannot write to the file /dev/full"); n != 1 {
		t.Errorf("%d error lines, want 1:\n%s", n, log.String())
	}
	if n := strings.Count(stderr.String(), "event=guest_leave"); n != 3 {
		t.Errorf("stderr has %d events, want 3:\n%s", n, stderr.String())
	}
}

// Outside systemd events go to stderr as text or as JSON objects.
func TestStderrFormats(t *testing.T) {
	for _, format := range []string{"", FormatText, FormatJSON} {
		t.Run(format, func(t *testing.T) {
			var out logtest.Buffer
			tr, err := New(Options{Stderr: &out, Format: format})
			if err != nil {
				t.Fatal(err)
			}
			tr.Emit(sample)
			tr.Close()
			line := strings.TrimSpace(out.String())
			if format == FormatJSON {
				var got map[string]any
				if err := json.Unmarshal([]byte(line), &got); err != nil {
					t.Fatalf("%q: %v", line, err)
				}
				if got["event"] != "guest_leave" || got["bytes"] != 12345.0 || got["session_id"] != "0123456789abcdef" || got["msg"] == "" {
					t.Errorf("%v", got)
				}
				return
			}
			for _, want := range []string{"time=2026-12-01T09:30:00.000Z", "event=guest_leave", "session_id=0123456789abcdef", "role=ro", "bytes=12345", "duration_s=90.000"} {
				if !strings.Contains(line, want) {
					t.Errorf("%q lacks %q", line, want)
				}
			}
		})
	}
	if _, err := New(Options{Stderr: io.Discard, Format: "xml"}); err == nil {
		t.Error("format xml accepted")
	}
}

// blockingWriter holds every write until released, and says when the
// first one arrived.
type blockingWriter struct {
	entered chan struct{}
	once    *sync.Once
	release chan struct{}
}

func (w blockingWriter) Write(p []byte) (int, error) {
	w.once.Do(func() { close(w.entered) })
	<-w.release
	return len(p), nil
}

// A stuck sink never holds the sessions: Emit returns, the events it
// cannot queue are dropped, and the trail says how many.
func TestStuckSinkDoesNotBlock(t *testing.T) {
	var log logtest.Buffer
	w := blockingWriter{make(chan struct{}), &sync.Once{}, make(chan struct{})}
	tr, err := New(Options{Stderr: w, Log: slog.New(slog.NewTextHandler(&log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	tr.Emit(sample)
	<-w.entered              // the writer is stuck on it
	for range queueLen + 2 { // queueLen queued, 2 dropped
		tr.Emit(sample)
	}
	close(w.release)
	tr.Close()
	if !strings.Contains(log.String(), "events dropped") || !strings.Contains(log.String(), "dropped=2") {
		t.Errorf("log:\n%s", log.String())
	}
}

// A nil trail records nothing and does not fail.
func TestNilTrail(t *testing.T) {
	var tr *Trail
	tr.Emit(sample)
	tr.Flush()
	if err := tr.Reopen(); err != nil {
		t.Error(err)
	}
	if err := tr.Close(); err != nil {
		t.Error(err)
	}
}

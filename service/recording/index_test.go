package recording

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeFile writes a recording file with header m and one output event.
func writeFile(t *testing.T, dir string, m meta) string {
	t.Helper()
	line, err := encodeHeader(header{Version: 2, Width: 80, Height: 24, Timestamp: m.Start.Unix(), Relay: m})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, m.ID+Ext)
	if err := os.WriteFile(p, append(line, "[0.5, \"o\", \"hi\"]\n"...), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestListNewestFirstWithHeaderFacts(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	end := t0.Add(time.Hour)
	writeFile(t, dir, meta{ID: "20261203-100000-0000000a", SessionName: "ops", Host: "192.0.2.1:5000", Start: t0, End: &end, Guests: 3, Stopped: "max_bytes reached"})
	writeFile(t, dir, meta{ID: "20261203-110000-0000000b", Host: "192.0.2.2:5000", Start: t0.Add(time.Hour), Previous: "20261203-100000-0000000a"})

	list, err := List(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 {
		t.Fatalf("got %d recordings, want 2", len(list))
	}
	if list[0].ID != "20261203-110000-0000000b" || list[1].ID != "20261203-100000-0000000a" {
		t.Fatalf("order %s, %s: want newest first", list[0].ID, list[1].ID)
	}
	live, done := list[0], list[1]
	if !live.End.IsZero() || live.Previous != "20261203-100000-0000000a" || live.Host != "192.0.2.2:5000" {
		t.Errorf("live recording: %+v", live)
	}
	if !done.End.Equal(end) || done.Guests != 3 || done.SessionName != "ops" || done.Stopped != "max_bytes reached" || !done.Start.Equal(t0) {
		t.Errorf("ended recording: %+v", done)
	}
	if done.Size != headerLen+int64(len("[0.5, \"o\", \"hi\"]\n")) {
		t.Errorf("size %d", done.Size)
	}
}

func TestListSkipsAndNamesBadFiles(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	writeFile(t, dir, meta{ID: "20261203-100000-0000000a", Host: "h", Start: t0})
	bad := filepath.Join(dir, "20261203-100000-0000000c"+Ext)
	os.WriteFile(bad, []byte("{not json\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o600)             // not a recording's name: ignored
	os.WriteFile(filepath.Join(dir, "README"+Ext), []byte("x"), 0o600)            // not an ID: ignored
	os.Mkdir(filepath.Join(dir, "20261203-100000-0000000d"+Ext), 0o700)           // not a file: ignored
	writeFile(t, dir, meta{ID: "20261203-100000-0000000e", Host: "h", Start: t0}) // renamed below
	os.Rename(filepath.Join(dir, "20261203-100000-0000000e"+Ext), filepath.Join(dir, "20261203-100000-0000000f"+Ext))

	list, err := List(dir)
	if len(list) != 1 || list[0].ID != "20261203-100000-0000000a" {
		t.Fatalf("list %+v", list)
	}
	if err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "0000000f") {
		t.Fatalf("error %v: want one naming %s and the renamed file", err, bad)
	}
}

func TestListMissingDirIsEmpty(t *testing.T) {
	list, err := List(filepath.Join(t.TempDir(), "none"))
	if err != nil || len(list) != 0 {
		t.Fatalf("List = %v, %v", list, err)
	}
}

func TestPathRefusesWhatListCannotReturn(t *testing.T) {
	dir := t.TempDir()
	id := "20261203-100000-0000000a"
	want := writeFile(t, dir, meta{ID: id, Host: "h", Start: time.Now()})
	if got, err := Path(dir, id); err != nil || got != want {
		t.Fatalf("Path(%s) = %q, %v", id, got, err)
	}
	for _, id := range []string{"", "..", "../etc/passwd", "20261203-100000-0000000a/../x", "20261203-100000-0000000A", "20261203-100000-0000000a.cast", "/20261203-100000-0000000a", "20261203-100000-0000000a\n"} {
		if p, err := Path(dir, id); err == nil {
			t.Errorf("Path(%q) = %q, want an error", id, p)
		}
	}
	if _, err := Path(dir, "20261203-100000-00000001"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing recording: %v, want fs.ErrNotExist", err)
	}
}

func TestHeaderIsFixedLengthJSON(t *testing.T) {
	for _, long := range []string{strings.Repeat("é", maxNameLen), strings.Repeat("\"\\<\x01\xff", maxNameLen)} {
		m := meta{ID: "20261203-100000-0000000a", SessionName: clean(long), Host: clean(long), Start: time.Now(), Stopped: "disk full"}
		line, err := encodeHeader(header{Version: 2, Width: 80, Height: 24, Title: clean(long), Env: map[string]string{"TERM": "xterm-256color"}, Relay: m})
		if err != nil {
			t.Fatal(err)
		}
		if len(line) != headerLen || line[headerLen-1] != '\n' {
			t.Fatalf("header line of %d bytes", len(line))
		}
		h, err := decodeHeader(line)
		if err != nil || h.Relay.SessionName != m.SessionName {
			t.Fatalf("decode: %v", err)
		}
	}
}

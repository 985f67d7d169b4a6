package recording

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestFileStopsBelowMaxBytesWithANote(t *testing.T) {
	dir := t.TempDir()
	start := time.Now()
	const max = MinMaxBytes + 100
	f, err := create(dir, header{Width: 80, Height: 24, Relay: meta{Host: "192.0.2.1"}}, start, max)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	for err = nil; err == nil; n++ {
		err = f.event(start.Add(time.Duration(n)*time.Millisecond), "o", strings.Repeat("x", 50))
	}
	if !errors.Is(err, errLimit) {
		t.Fatalf("event: %v, want errLimit", err)
	}
	if err := f.note(start.Add(time.Second), errLimit.Error()); err != nil {
		t.Fatal(err)
	}
	if err := f.close(start.Add(time.Second), errLimit.Error()); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, f.hdr.Relay.ID+Ext)
	fi, err := os.Stat(p)
	if err != nil || fi.Size() > max || fi.Mode().Perm() != 0o600 {
		t.Fatalf("file %v, %v: want at most %d bytes, mode 0600", fi.Size(), err, max)
	}
	in, err := Read(p)
	if err != nil || in.Stopped != "max_bytes reached" || in.End.IsZero() || in.Host != "192.0.2.1" {
		t.Fatalf("Read: %+v %v", in, err)
	}
	b, _ := os.ReadFile(p)
	if !bytes.Contains(b, []byte(`"m", "recording stopped: max_bytes reached"]`)) {
		t.Errorf("no closing marker:\n%s", b)
	}
}

func TestPlayKeepsTimingScaled(t *testing.T) {
	dir := t.TempDir()
	start := time.Now()
	f, err := create(dir, header{Width: 80, Height: 24}, start, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.event(start.Add(time.Second), "o", "a")
	f.event(start.Add(2*time.Second), "m", "guest joined: x rw ssh")
	f.event(start.Add(3*time.Second), "o", "b\x1b[31m")
	f.close(start.Add(4*time.Second), "")
	r, _ := os.Open(filepath.Join(dir, f.hdr.Relay.ID+Ext))
	defer r.Close()
	var out bytes.Buffer
	var waits []time.Duration
	if err := Play(&out, r, 2, func(d time.Duration) { waits = append(waits, d) }); err != nil {
		t.Fatal(err)
	}
	if out.String() != "ab\x1b[31m" {
		t.Errorf("played %q", out.String())
	}
	if len(waits) != 2 || waits[0] != 500*time.Millisecond || waits[1] != time.Second {
		t.Errorf("waits %v, want [500ms 1s]", waits)
	}
	if err := Play(&out, strings.NewReader("not a recording\n"), 1, nil); err == nil {
		t.Error("played a file that is no recording")
	}
}

func TestSweepDeletesOnlyOldRecordings(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-48 * time.Hour)
	files := map[string]bool{ // name: deleted
		"20261201-100000-0000000a.cast": true,
		"20261201-100000-0000000b.cast": false, // live
		"20261203-100000-0000000c.cast": false, // recent
		"notes.cast":                    false, // not a recording's name
		"20261201-100000-0000000d.txt":  false,
	}
	for name := range files {
		p := filepath.Join(dir, name)
		os.WriteFile(p, nil, 0o600)
		if !strings.Contains(name, "0000000c") {
			os.Chtimes(p, old, old)
		}
	}
	gone, err := Sweep(dir, time.Now().Add(-24*time.Hour), func(id string) bool { return id == "20261201-100000-0000000b" })
	if err != nil || len(gone) != 1 || gone[0] != "20261201-100000-0000000a" {
		t.Fatalf("Sweep = %v, %v", gone, err)
	}
	for name, deleted := range files {
		if _, err := os.Stat(filepath.Join(dir, name)); os.IsNotExist(err) != deleted {
			t.Errorf("%s: deleted %v, want %v", name, os.IsNotExist(err), deleted)
		}
	}
}

func TestCloseUnfinished(t *testing.T) {
	dir := t.TempDir()
	start := time.Now().Add(-time.Hour)
	open, _ := create(dir, header{Width: 80, Height: 24}, start, 0) // never closed: the relay was killed
	open.event(start.Add(time.Minute), "o", "x")
	open.f.Close()
	lastWrite := start.Add(2 * time.Minute)
	p := filepath.Join(dir, open.hdr.Relay.ID+Ext)
	os.Chtimes(p, lastWrite, lastWrite)
	closed, _ := create(dir, header{Width: 80, Height: 24}, start, 0)
	closed.close(start.Add(time.Minute), "")
	// Killed between creating a file and naming it.
	unnamed := filepath.Join(dir, newID(start)+Ext+".new")
	if err := os.WriteFile(unnamed, []byte("{}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	notOurs := filepath.Join(dir, "notes.new")
	if err := os.WriteFile(notOurs, nil, 0o600); err != nil {
		t.Fatal(err)
	}

	n, err := CloseUnfinished(dir)
	if err != nil || n != 1 {
		t.Fatalf("CloseUnfinished = %d, %v", n, err)
	}
	in, _ := Read(p)
	if !in.End.Equal(lastWrite) || in.Stopped != Unfinished {
		t.Errorf("unfinished recording now %+v", in)
	}
	if fi, _ := os.Stat(p); !fi.ModTime().Equal(lastWrite) {
		t.Errorf("its last write moved to %v", fi.ModTime())
	}
	if _, err := os.Stat(unnamed); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a file left unnamed by a killed relay is still there: %v", err)
	}
	if _, err := os.Stat(notOurs); err != nil {
		t.Errorf("a file that is no recording's was touched: %v", err)
	}
	other, _ := Read(filepath.Join(dir, closed.hdr.Relay.ID+Ext))
	if other.Stopped != "" || !other.End.Equal(start.Add(time.Minute)) {
		t.Errorf("a complete recording changed: %+v", other)
	}
}

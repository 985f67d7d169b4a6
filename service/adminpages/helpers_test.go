package adminpages

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// headerLen is the recordings' fixed header line length
// (service/recording), which Read expects.
const headerLen = 2048

// Recording is what the tests write as a recording file.
type Recording struct {
	ID, SessionName, Host string
	Start, End            time.Time
	Guests                int
}

// WriteRecording writes rec into dir as the relay does: its header, padded
// to a fixed length, then the hand-written events of testdata/events.cast
// (a 40x6 terminal whose last frame reads "final-frame-42").
func WriteRecording(t testing.TB, dir string, rec Recording) string {
	t.Helper()
	meta := map[string]any{"id": rec.ID, "host": rec.Host, "start": rec.Start, "guests": rec.Guests}
	if rec.SessionName != "" {
		meta["session_name"] = rec.SessionName
	}
	if !rec.End.IsZero() {
		meta["end"] = rec.End
	}
	h, err := json.Marshal(map[string]any{"version": 2, "width": 40, "height": 6, "timestamp": rec.Start.Unix(), "tmate_relay": meta})
	if err != nil {
		t.Fatal(err)
	}
	events, err := os.ReadFile(filepath.Join("testdata", "events.cast"))
	if err != nil {
		t.Fatal(err)
	}
	line := string(h) + strings.Repeat(" ", headerLen-1-len(h)) + "\n"
	p := filepath.Join(dir, rec.ID+".cast")
	if err := os.WriteFile(p, append([]byte(line), events...), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

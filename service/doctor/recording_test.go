package doctor

import (
	"context"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	"tmate-relay/service/config"
)

func TestCheckRecording(t *testing.T) {
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	stoppedFile := func(t *testing.T, dir string) {
		// A recording whose header says it stopped on a full disk.
		hdr := `{"version":2,"width":80,"height":24,"timestamp":0,"tmate_relay":{"id":"20261203-100000-0000000a","session_id":"s","host":"h","start":"2026-12-03T10:00:00Z","end":"2026-12-03T10:01:00Z","guests":0,"stopped":"disk full"}}`
		hdr += strings.Repeat(" ", 2047-len(hdr)) + "\n"
		if err := os.WriteFile(filepath.Join(dir, "20261203-100000-0000000a.cast"), []byte(hdr), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name    string
		enabled bool
		setup   func(t *testing.T, dir string)
		want    Status
		text    string
	}{
		{"off", false, nil, OK, "off"},
		{"healthy", true, func(t *testing.T, dir string) { os.Mkdir(dir, 0o700) }, OK, "0 recordings"},
		{"missing", true, nil, Fail, "is missing"},
		{"readable by others", true, func(t *testing.T, dir string) { os.Mkdir(dir, 0o755) }, Fail, "others may read"},
		{"a recording stopped on a full disk", true, func(t *testing.T, dir string) { os.Mkdir(dir, 0o700); stoppedFile(t, dir) }, Warn, "1 of 1 recordings stopped before their session ended, the latest 20261203-100000-0000000a: disk full"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			state := t.TempDir()
			cfg := config.Default()
			cfg.SSH.HostKeysDir = filepath.Join(state, "keys")
			cfg.Recording.Enabled = tc.enabled
			cfg.Recording.Dir = filepath.Join(state, "recordings")
			if tc.setup != nil {
				tc.setup(t, cfg.Recording.Dir)
			}
			d := newDoctor(Options{User: me.Username})
			d.cfg = cfg
			r := d.checkRecording(context.Background())
			if r.Status != tc.want || !strings.Contains(r.Text, tc.text) {
				t.Errorf("got %v %q, want %v with %q", r.Status, r.Text, tc.want, tc.text)
			}
		})
	}
}

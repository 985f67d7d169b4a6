package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tmate-relay/service/doctor"
)

// noSystemd is a machine without systemd.
func noSystemd(_ context.Context, o *doctor.Options) func() {
	o.SystemdMissing = "none in this test"
	return func() {}
}

func TestDoctorCommand(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "relay.toml")
	os.WriteFile(bad, []byte("[ssh]\nlisten = \"127.0.0.1:0\"\nlisten_now = true\n"), 0o644)
	for _, tc := range []struct {
		name    string
		args    []string
		wantErr string // "" for success
		stdout  string
	}{
		{"a failed check fails the command", []string{"-c", bad}, "1 of 1 checks failed", "fail  config          " + bad + `:3: unknown key "listen_now" in [ssh]`},
		{"a missing file", []string{"-c", filepath.Join(dir, "none.toml")}, "checks failed", "no such file or directory"},
		{"help", []string{"-h"}, "", ""},
		{"an argument too many", []string{"-c", bad, "now"}, `unexpected argument "now"`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr strings.Builder
			err := doctorCommand(tc.args, &stdout, &stderr, noSystemd)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("error %v, want %q", err, tc.wantErr)
			}
			if !strings.Contains(stdout.String(), tc.stdout) {
				t.Errorf("stdout %q, want %q in it", stdout.String(), tc.stdout)
			}
		})
	}
}

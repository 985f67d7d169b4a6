package fileperm

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfig(t *testing.T) {
	for _, tc := range []struct {
		mode os.FileMode
		want string // in the error; "" for none
	}{
		{0o644, ""},
		{0o600, ""},
		{0o664, ""}, // the owner's group may edit it, as for /etc files
		{0o666, "writable by everyone (mode 0666)"},
		{0o602, "chmod o-w"},
	} {
		p := filepath.Join(t.TempDir(), "relay.toml")
		os.WriteFile(p, nil, 0o600)
		os.Chmod(p, tc.mode)
		err := Config(p)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), p)) {
			t.Errorf("mode %#o: %v, want %q", tc.mode, err, tc.want)
		}
	}
}

func TestSecret(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(dir, p string) // p exists, mode 0600, in dir (0700)
		want  string              // in the error; "" for none
	}{
		{"0600", func(dir, p string) {}, ""},
		{"0400", func(dir, p string) { os.Chmod(p, 0o400) }, ""},
		{"group-readable", func(dir, p string) { os.Chmod(p, 0o640) }, "permissions 0640 for test key " + "%P are too open"},
		{"world-readable", func(dir, p string) { os.Chmod(p, 0o644) }, "chmod 600 %P"},
		{"world-writable", func(dir, p string) { os.Chmod(p, 0o602) }, "too open"},
		{"symlink", func(dir, p string) {
			os.Rename(p, p+".real")
			os.Symlink(p+".real", p)
		}, "test key %P is a symbolic link"},
		{"directory", func(dir, p string) { os.Remove(p); os.Mkdir(p, 0o700) }, "not a regular file"},
		{"world-writable directory", func(dir, p string) { os.Chmod(dir, 0o777) }, "the directory %D of test key %P is writable by everyone"},
		{"sticky world-writable directory", func(dir, p string) { os.Chmod(dir, os.ModeSticky|0o777) }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "keys")
			os.Mkdir(dir, 0o700)
			p := filepath.Join(dir, "key")
			if err := os.WriteFile(p, []byte("secret"), 0o600); err != nil {
				t.Fatal(err)
			}
			tc.setup(dir, p)
			want := strings.NewReplacer("%P", p, "%D", dir).Replace(tc.want)
			err := Secret(p, "test key")
			if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
				t.Errorf("%v, want %q", err, want)
			}
		})
	}
}

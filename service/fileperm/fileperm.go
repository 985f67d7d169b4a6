// Package fileperm refuses files whose permissions would let other users
// change what the relay trusts or read its secrets, as sshd's StrictModes
// refuses its own: a world-writable relay.toml, a private key others may
// read or replace. Each error names the file and the command that fixes it.
package fileperm

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// Config checks a configuration file the relay trusts: anyone may read
// it, but a world-writable one would let any local user point the relay
// at their own keys, so it is refused. A symbolic link is followed.
func Config(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if perm := fi.Mode().Perm(); perm&0o002 != 0 {
		return fmt.Errorf("%s is writable by everyone (mode %#o): any local user could change the relay's settings (chmod o-w %s)", path, perm, path)
	}
	return nil
}

// Secret checks a private key file (what names it in errors, e.g. "host
// key") before it is read. It must be a regular file, not a symbolic link
// (whose target could be swapped), in a directory others cannot write to.
// As OpenSSH's sshkey_perm_ok, a key owned by the relay's user must give
// group and others no access at all; one owned by another user (root
// keeping it for a group) may be readable by its group, never by others,
// and writable by its owner only.
func Secret(path, what string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return fmt.Errorf("%s %s is a symbolic link: the relay reads private keys only from regular files (replace the link with the file itself, mode 0600)", what, path)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s %s is not a regular file", what, path)
	}
	perm := fi.Mode().Perm()
	tooOpen := perm&0o027 != 0
	if st, ok := fi.Sys().(*syscall.Stat_t); !ok || int(st.Uid) == os.Getuid() {
		tooOpen = perm&0o077 != 0
	}
	if tooOpen {
		return fmt.Errorf("permissions %#o for %s %s are too open: it must not be accessible by group or others (chmod 600 %s)", perm, what, path, path)
	}
	dir := filepath.Dir(path)
	if di, err := os.Stat(dir); err == nil && di.Mode().Perm()&0o002 != 0 && di.Mode()&fs.ModeSticky == 0 {
		return fmt.Errorf("the directory %s of %s %s is writable by everyone: any local user could replace the key (chmod o-w %s)", dir, what, path, dir)
	}
	return nil
}

package doctor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"tmate-relay/packaging"
	"tmate-relay/service/hostkey"
	"tmate-relay/service/session"
)

// stateCheck collects the state directory's problems.
type stateCheck struct {
	user     string
	uid      int
	findings []Result
	denied   bool // some file could not be looked at
}

func (s *stateCheck) add(st Status, format string, a ...any) {
	s.findings = append(s.findings, Result{CheckStateDir, st, fmt.Sprintf(format, a...)})
}

// owned checks that path is owned by the relay's user; it returns the file's
// mode, or false when it is missing or wrong.
func (s *stateCheck) owned(path string, dir bool) (fs.FileMode, bool) {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrPermission) {
		s.denied = true
		return 0, false
	}
	if err != nil {
		s.add(Fail, "%v", err)
		return 0, false
	}
	switch {
	case dir && !fi.IsDir():
		s.add(Fail, "%s is not a directory", path)
		return 0, false
	case !dir && !fi.Mode().IsRegular():
		s.add(Fail, "%s is not a regular file (the relay reads keys only from files: replace it with the file itself, mode 0600)", path)
		return 0, false
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != s.uid {
		owner := strconv.Itoa(int(st.Uid))
		if u, err := user.LookupId(owner); err == nil {
			owner = u.Username
		}
		r := ""
		if dir {
			r = "-R "
		}
		s.add(Fail, "%s belongs to %s, not %s (chown %s%s: %s)", path, owner, s.user, r, s.user, path)
		return 0, false
	}
	return fi.Mode().Perm(), true
}

// directory checks a directory of the relay's: nobody else may write to
// it; want is its mode as shipped.
func (s *stateCheck) directory(path string, want fs.FileMode) {
	perm, ok := s.owned(path, true)
	switch {
	case !ok:
	case perm&0o022 != 0:
		s.add(Fail, "%s is writable by others (mode %#o): they could replace the relay's keys (chmod %#o %s)", path, perm, want, path)
	case perm&^want != 0:
		s.add(Warn, "%s is mode %#o, more open than %#o (chmod %#o %s)", path, perm, want, want, path)
	}
}

// secret checks a private key; a missing optional one is created by the
// relay when it starts.
func (s *stateCheck) secret(path string, optional bool) {
	if _, err := os.Lstat(path); optional && errors.Is(err, fs.ErrNotExist) {
		return
	}
	if perm, ok := s.owned(path, false); ok && perm&0o077 != 0 {
		s.add(Fail, "%s is mode %#o: a private key must be for its owner only, or the relay refuses it (chmod 600 %s)", path, perm, path)
	}
}

func (d *doctor) checkStateDir(ctx context.Context) Result {
	name := d.relayUser()
	if name == "" {
		return warn(CheckStateDir, "not checked: who runs the relay is unknown")
	}
	u, err := user.Lookup(name)
	if err != nil {
		return fail(CheckStateDir, "the relay's user %s: %v (reinstall the package, which creates it)", name, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	s := &stateCheck{user: name, uid: uid}
	state := packaging.StateDir(d.cfg)
	keys := d.cfg.SSH.HostKeysDir
	s.directory(state, 0o750) // systemd's StateDirectoryMode=
	s.directory(keys, 0o700)  // as keygen makes it
	for _, f := range hostkey.Files {
		s.secret(filepath.Join(keys, f.Name), false)
	}
	s.secret(filepath.Join(state, session.ReconnectKeyFile), true)
	s.secret(packaging.SigningKeyPath(d.cfg), true)
	if _, err := os.Lstat(packaging.LiveRepoDir(d.cfg)); err == nil {
		s.owned(packaging.LiveRepoDir(d.cfg), true)
	}
	if s.denied {
		s.add(Fail, "the keys in %s are not visible to this user: run doctor as root", state)
	}
	worst, texts := OK, []string{}
	for _, f := range s.findings {
		worst = max(worst, f.Status)
		texts = append(texts, f.Text)
	}
	if worst != OK {
		return Result{CheckStateDir, worst, strings.Join(texts, "; ")}
	}
	return ok(CheckStateDir, "%s and %s belong to %s, with the keys in them for %s only", state, keys, name, name)
}

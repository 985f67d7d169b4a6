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
	"tmate-relay/service/recording"
)

// CheckRecording looks at [recording]: its directory, the room left on
// its disk and recordings that stopped before their session ended.
const CheckRecording = "recording"

// lowDiskPercent is the free space below which recording is warned of: a
// full disk stops recordings.
const lowDiskPercent = 5

func (d *doctor) checkRecording(ctx context.Context) Result {
	rc := d.cfg.Recording
	if !rc.Enabled {
		return ok(CheckRecording, "off ([recording] enabled = false)")
	}
	dir := rc.Dir
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fail(CheckRecording, "%s is missing: sessions are not recorded (install -d -m 0700 -o %s -g %s %s)", dir, d.relayUser(), d.relayUser(), dir)
	case errors.Is(err, fs.ErrPermission):
		return fail(CheckRecording, "%s is not visible to this user: run doctor as root", dir)
	case err != nil:
		return fail(CheckRecording, "%v", err)
	case !fi.IsDir():
		return fail(CheckRecording, "%s is not a directory", dir)
	}
	if name := d.relayUser(); name != "" {
		if u, err := user.Lookup(name); err == nil {
			if st, ok := fi.Sys().(*syscall.Stat_t); ok && strconv.Itoa(int(st.Uid)) != u.Uid {
				return fail(CheckRecording, "%s does not belong to %s: recordings cannot be written (chown -R %s: %s)", dir, name, name, dir)
			}
		}
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fail(CheckRecording, "%s is mode %#o: others may read what guests saw (chmod 0700 %s)", dir, perm, dir)
	}
	var notes []string
	if state := packaging.StateDir(d.cfg); !within(dir, state) {
		notes = append(notes, fmt.Sprintf("%s is outside %s, the only directory the packaged unit lets the relay write: add ReadWritePaths=%s in a drop-in", dir, state, dir))
	}
	var disk syscall.Statfs_t
	if syscall.Statfs(dir, &disk) == nil && disk.Blocks > 0 {
		if free := disk.Bavail * 100 / disk.Blocks; free < lowDiskPercent {
			notes = append(notes, fmt.Sprintf("%d%% of its disk is free: a full disk stops recordings", free))
		}
	}
	list, err := recording.List(dir)
	if err != nil {
		notes = append(notes, fmt.Sprintf("unreadable recordings: %v", strings.ReplaceAll(err.Error(), "\n", "; ")))
	}
	var stopped []recording.Info
	for _, in := range list {
		if in.Stopped != "" {
			stopped = append(stopped, in)
		}
	}
	if len(stopped) > 0 {
		notes = append(notes, fmt.Sprintf("%d of %d recordings stopped before their session ended, the latest %s: %s", len(stopped), len(list), stopped[0].ID, stopped[0].Stopped))
	}
	if len(notes) > 0 {
		return warn(CheckRecording, "%s", strings.Join(notes, "; "))
	}
	return ok(CheckRecording, "%s: %d recordings, none stopped early", dir, len(list))
}

// relayUser is who runs the relay: --user, else whoever runs doctor; ""
// when that is unknown.
func (d *doctor) relayUser() string {
	if d.opts.User != "" {
		return d.opts.User
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return ""
}

// within reports whether path is dir or below it.
func within(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

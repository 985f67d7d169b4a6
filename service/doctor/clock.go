package doctor

import (
	"context"
	"time"
)

// clockSlack is how far ahead of the clock the repository's Date may be
// before the clock counts as gone back.
const clockSlack = 5 * time.Minute

func (d *doctor) checkClock(ctx context.Context) Result {
	t := d.opts.Now()
	now := t.UTC().Format(time.RFC3339)
	const fix = "set the time and keep it synchronised (timedatectl set-ntp true, with systemd-timesyncd or chrony installed)"
	if b := d.opts.BuildTime; !b.IsZero() && t.Before(b) {
		return fail(CheckClock, "%s is before this program was built (%s): %s", now, b.UTC().Format(time.RFC3339), fix)
	}
	if r := d.releaseDate; !r.IsZero() && r.After(t.Add(clockSlack)) {
		return fail(CheckClock, "%s is before the repository was signed (%s): the clock went back; %s", now, r.UTC().Format(time.RFC3339), fix)
	}
	if d.opts.Systemd == nil {
		return ok(CheckClock, "%s, after the build and the repository's date (NTP not checked: no systemd)", now)
	}
	synced, err := d.opts.Systemd.NTPSynchronized(ctx)
	switch {
	case err != nil:
		return warn(CheckClock, "%s; whether NTP synchronises it is unknown (%v)", now, err)
	case !synced:
		return warn(CheckClock, "%s, not synchronised by NTP: clients refuse a repository signed in their future; %s", now, fix)
	}
	return ok(CheckClock, "%s, synchronised by NTP, after the build and the repository's date", now)
}

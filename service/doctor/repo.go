package doctor

import (
	"context"
	"time"

	"tmate-relay/packaging"
)

// resignSlack is how late past a third of valid_for the relay may be in
// signing its repository again (it looks every minute).
const resignSlack = 10 * time.Minute

func (d *doctor) checkRepository(ctx context.Context) Result {
	if !d.cfg.Repo.Enabled {
		return ok(CheckRepository, "not served ([repo] enabled = false)")
	}
	if d.webBase == "" {
		return warn(CheckRepository, "not checked: the web side does not answer")
	}
	keyPath := packaging.SigningKeyPath(d.cfg)
	key, err := packaging.LoadSigningKey(keyPath)
	if err != nil {
		return fail(CheckRepository, "signing key: %v (run doctor as root; the relay creates the key when it first writes the repository)", err)
	}
	url := d.webBase + "/apt/dists/" + packaging.RepoSuite + "/InRelease"
	b, err := d.get(ctx, url)
	if err != nil {
		return fail(CheckRepository, "%v: restart the relay (systemctl restart tmate-relay) and see its log", err)
	}
	release, err := key.VerifyClearSigned(b, d.now)
	if err != nil {
		return fail(CheckRepository, "%s is not validly signed by %s (%s): %v; apt refuses it; restart the relay to sign it again", url, key.Fingerprint(), keyPath, err)
	}
	date, until, err := packaging.ReleaseTimes(release)
	if err != nil {
		return fail(CheckRepository, "%s: %v", url, err)
	}
	d.releaseDate = date
	left := until.Sub(d.now)
	validFor := d.cfg.Repo.ValidFor
	stamp := until.UTC().Format(time.RFC3339)
	switch {
	case left <= 0:
		return fail(CheckRepository, "%s expired at %s: apt refuses it; restart the relay (systemctl restart tmate-relay), which signs it again at start", url, stamp)
	case left < validFor/6:
		return fail(CheckRepository, "%s expires at %s, in %s: the relay signs it again when a third of valid_for (%s) is left, and has not; restart it and see its log", url, stamp, left.Round(time.Minute), validFor)
	case left < validFor/3-resignSlack:
		return warn(CheckRepository, "%s expires at %s, in %s, yet the relay signs it again when a third of valid_for (%s) is left: is it running? see its log", url, stamp, left.Round(time.Minute), validFor)
	}
	return ok(CheckRepository, "signed by %s, valid until %s (%s left)", key.Fingerprint(), stamp, left.Round(time.Minute))
}

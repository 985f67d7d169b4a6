package doctor

import (
	"context"
	"fmt"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/clearsign"

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
	// The dates first, unverified: a Release signed in the clock's future
	// fails to verify, and the clock is what to fix then.
	block, _ := clearsign.Decode(b)
	if block == nil {
		return fail(CheckRepository, "%s is not clear-signed: restart the relay (systemctl restart tmate-relay) to write it again", url)
	}
	date, until, err := packaging.ReleaseTimes(block.Plaintext)
	if err != nil {
		return fail(CheckRepository, "%s: %v: restart the relay (systemctl restart tmate-relay) to write it again", url, err)
	}
	d.releaseDate = date
	now := d.opts.Now() // after the fetch, which may have waited for the signing
	if _, err := key.VerifyClearSigned(b, now); err != nil {
		if date.After(now.Add(clockSlack)) {
			return fail(CheckRepository, "%s was signed at %s, after the clock's now: the clock is behind (see clock)", url, date.UTC().Format(time.RFC3339))
		}
		return fail(CheckRepository, "%s is not validly signed by %s (%s): %v; apt refuses it; restart the relay to sign it again", url, key.Fingerprint(), keyPath, err)
	}
	left := until.Sub(now)
	validFor := d.cfg.Repo.ValidFor
	stamp := until.UTC().Format(time.RFC3339)
	switch {
	case left <= 0:
		return fail(CheckRepository, "%s expired at %s: apt refuses it; restart the relay (systemctl restart tmate-relay), which signs it again at start", url, stamp)
	case left < validFor/6:
		return fail(CheckRepository, "%s expires at %s, in %s: the relay signs it again when a third of valid_for (%s) is left, and has not; restart it and see its log", url, stamp, span(left), validFor)
	case left < validFor/3-resignSlack:
		return warn(CheckRepository, "%s expires at %s, in %s, yet the relay signs it again when a third of valid_for (%s) is left: is it running? see its log", url, stamp, span(left), validFor)
	}
	return ok(CheckRepository, "signed by %s, valid until %s (%s left)", key.Fingerprint(), stamp, span(left))
}

// span writes a duration in days, hours and minutes.
func span(d time.Duration) string {
	d = d.Round(time.Minute)
	days, h, m := d/(24*time.Hour), d%(24*time.Hour)/time.Hour, d%time.Hour/time.Minute
	switch {
	case days > 0:
		return fmt.Sprintf("%dd %dh", days, h)
	case h > 0:
		return fmt.Sprintf("%dh %dm", h, m)
	}
	return fmt.Sprintf("%dm", m)
}

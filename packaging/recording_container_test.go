package packaging

import (
	"strings"
	"time"
)

// checkRecording, in a booted container whose relay hosts with
// /tmp/host.conf: the package made the recordings directory for the
// relay's user only, and with [recording] enabled a tmate host's session
// is recorded there, in a file only that user may read, which `tmate-relay
// recordings` lists. The shipped setting is put back afterwards.
func checkRecording(c *container) {
	c.t.Helper()
	const dir = "/var/lib/tmate-relay/recordings"
	c.check("recordings directory", `test "$(stat -c '%U:%G %a' `+dir+`)" = 'tmate-relay:tmate-relay 700'`)
	c.must(`sed -i '/^\[recording\]/,/^\[/ s/^enabled = false/enabled = true/' /etc/tmate-relay/relay.toml && systemctl restart tmate-relay.service`)
	defer c.must(`sed -i '/^\[recording\]/,/^\[/ s/^enabled = true/enabled = false/' /etc/tmate-relay/relay.toml && systemctl restart tmate-relay.service`)
	c.tmateReady("", "/tmp/host.conf") // starts a session, then ends it
	var out string
	if !c.eventually(15*time.Second, func() bool {
		out, _ = c.sh(20*time.Second, "tmate-relay recordings -c /etc/tmate-relay/relay.toml --json")
		return strings.Contains(out, `"end": "`)
	}) {
		j, _ := c.sh(10*time.Second, "journalctl -u tmate-relay.service --no-pager | tail -30")
		c.t.Errorf("no ended recording listed:\n%s\nrelay journal:\n%s", out, j)
		return
	}
	c.check("recording file", `for f in `+dir+`/*.cast; do test "$(stat -c '%U %a' "$f")" = 'tmate-relay 600' || exit 1; done`)
}

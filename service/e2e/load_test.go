package e2e

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"tmate-relay/service/loadtest"
)

// TestLoadSmoke is the short run of the load generator (tmate-relay-load)
// that `make test` makes: 100 sessions with an ssh and a browser guest
// each, steady for 10 s, against a relay with its shipped limits, each
// session from its own 127.x.y.z address. Any error fails it, and so does
// a guest that missed a marker; nothing is timed.
func TestLoadSmoke(t *testing.T) {
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skip("runs 100 sessions for 10 s (never skipped in CI)")
	}
	r := startRelay(t, "")
	res, err := loadtest.Run(context.Background(), loadtest.Config{
		Addr: fmt.Sprintf("127.0.0.1:%d", r.port), Web: fmt.Sprintf("http://127.0.0.1:%d", r.webPort),
		Sessions: 100, SSHGuests: 1, WebGuests: 1,
		Workload: loadtest.Steady, Duration: 10 * time.Second, RelayPID: r.cmd.Process.Pid,
		SpreadSources: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", *res)
	if res.Errors != 0 {
		t.Errorf("%d errors: %q", res.Errors, res.ErrorSamples)
	}
	if res.SessionsOK != 100 || res.GuestsOK != 200 {
		t.Errorf("%d sessions and %d guests ok, want 100 and 200", res.SessionsOK, res.GuestsOK)
	}
	// Every guest timed at least the markers of the last seconds.
	if res.LatSamples < 200*5 {
		t.Errorf("%d markers timed on the guests' screens, want at least %d", res.LatSamples, 200*5)
	}
	if res.RelayRSS == 0 || res.FDs < 300 {
		t.Errorf("relay RSS %d bytes, %d descriptors: /proc not read", res.RelayRSS, res.FDs)
	}
}

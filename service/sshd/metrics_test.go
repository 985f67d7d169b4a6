package sshd

import (
	"io"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"tmate-relay/service/metrics"
	"tmate-relay/service/protocol"
	"tmate-relay/service/session"
)

// counter is the value of one series in m's scrape ("" when absent).
func counter(t *testing.T, m *metrics.Metrics, series string) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			return v
		}
	}
	return ""
}

// Each refusal at the SSH door is counted once, under its reason, and
// every handshake that completed is timed.
func TestRefusalsAreCountedByReason(t *testing.T) {
	listed, other := testSigner(t, "ed25519"), testSigner(t, "ed25519")
	hostsFile := filepath.Join(t.TempDir(), "hosts_keys")
	writeFile(t, hostsFile, authorizedLine(listed)+"\n")
	reg := session.NewRegistry(0)
	m := metrics.New(reg, "test")
	addr, _, _ := startServer(t, Config{Registry: reg, HostAuthorizedKeys: hostsFile, Metrics: m})

	restricted := liveSession(t, reg, session.Config{}, listed)
	full := liveSession(t, reg, session.Config{MaxGuests: 1})
	if _, err := full.Attach(false, "192.0.2.1", 80, 24); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		reason metrics.Reason
		try    func()
	}{
		{"unknown token", metrics.BadToken, func() { guestShell(t, addr, "nosuchtoken", nil) }},
		{"unlisted host key", metrics.HostNotAllowed, func() { dialAs(t, addr, HostUser, other) }},
		{"unlisted guest key", metrics.GuestKey, func() { guestShell(t, addr, restricted.Token(), []ssh.Signer{other}) }},
		{"guest limit", metrics.Limits, func() { guestShell(t, addr, full.Token(), nil) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := map[metrics.Reason]string{}
			for _, r := range metrics.Reasons {
				before[r] = counter(t, m, `tmate_relay_refusals_total{reason="`+string(r)+`"}`)
			}
			tc.try()
			// The relay counts a refusal on its side of the connection,
			// which may be after the client has seen it: wait for it.
			want := map[string]string{"0": "1", "1": "2"}[before[tc.reason]]
			series := `tmate_relay_refusals_total{reason="` + string(tc.reason) + `"}`
			for deadline := time.Now().Add(5 * time.Second); counter(t, m, series) != want && time.Now().Before(deadline); {
				time.Sleep(5 * time.Millisecond)
			}
			for _, r := range metrics.Reasons {
				got := counter(t, m, `tmate_relay_refusals_total{reason="`+string(r)+`"}`)
				want := before[r]
				if r == tc.reason {
					want = map[string]string{"0": "1", "1": "2"}[before[r]]
				}
				if got != want {
					t.Errorf("refusals %s: %s, want %s", r, got, want)
				}
			}
		})
	}
	if n := counter(t, m, "tmate_relay_ssh_handshake_seconds_count"); n == "" || n == "0" {
		t.Errorf("handshakes timed: %q", n)
	}
}

// A host that comes back with valid reconnection data counts as a
// reconnect, its session as waiting meanwhile; one whose data is refused
// starts a new session and counts as none. Its stream's bytes are counted.
func TestHostReconnectsAreCounted(t *testing.T) {
	reg := session.NewRegistry(0)
	reg.SetReconnector(session.NewReconnector([]byte("relay key"), time.Minute))
	m := metrics.New(reg, "test")
	addr, _, _ := startServer(t, Config{Registry: reg, Metrics: m, Session: session.Config{AdvertiseHost: "relay.example", AdvertisePort: 22}})
	env, _, first := hostUntilReady(t, addr)
	if n := counter(t, m, "tmate_relay_host_bytes_total"); n == "0" || n == "" {
		t.Errorf("host bytes: %q", n)
	}
	first.Close() // the connection drops, without FIN
	waitFor(t, "the session waits for its host", func() bool {
		return counter(t, m, `tmate_relay_sessions{state="waiting"}`) == "1"
	})

	_, _, c := hostUntilReady(t, addr, &protocol.Reconnect{Data: "1.e30.AAAA"})
	c.Close()
	if n := counter(t, m, "tmate_relay_host_reconnects_total"); n != "0" {
		t.Errorf("refused reconnection counted: %s", n)
	}
	_, _, c = hostUntilReady(t, addr, &protocol.Reconnect{Data: env["tmate_reconnection_data"]})
	defer c.Close()
	if n := counter(t, m, "tmate_relay_host_reconnects_total"); n != "1" {
		t.Errorf("reconnects: %s, want 1", n)
	}
	if n := counter(t, m, `tmate_relay_sessions{state="live"}`); n == "0" {
		t.Errorf("the reconnected session is not live")
	}
}

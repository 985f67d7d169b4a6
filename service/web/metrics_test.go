package web

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"tmate-relay/service/config"
	"tmate-relay/service/metrics"
	"tmate-relay/service/session"
	"tmate-relay/service/viewer"
)

// The web side serves /metrics only with [web] metrics = true: by default
// the metrics stay on their own (loopback) listener.
func TestMetricsOnlyWhenEnabled(t *testing.T) {
	for _, tc := range []struct {
		name    string
		enabled bool
		status  int
	}{{"default: off", false, 404}, {"[web] metrics = true", true, 200}} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.Web.Metrics = tc.enabled
			reg := session.NewRegistry(0)
			srv := httptest.NewServer(New(cfg, Options{Registry: reg, Metrics: metrics.New(reg, "test")}))
			defer srv.Close()
			resp, err := http.Get(srv.URL + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.enabled && !strings.Contains(string(body), `tmate_relay_sessions{state="live"} 0`) {
				t.Errorf("/metrics lacks the session count:\n%.500s", body)
			}
		})
	}
}

// A browser guest is counted as a web guest of its role while attached, its
// join, its frames' bytes and its leaving; an unknown token as a refusal.
func TestBrowserGuestsAreCounted(t *testing.T) {
	cfg := config.Default()
	cfg.Repo.Enabled = false
	reg := session.NewRegistry(0)
	sess := session.New(session.Config{AdvertiseHost: "relay.example", AdvertisePort: 10022}, &quietHost{})
	if err := reg.Add(sess); err != nil {
		t.Fatal(err)
	}
	m := metrics.New(reg, "test")
	srv := httptest.NewServer(New(cfg, Options{Registry: reg, Metrics: m, Viewer: viewer.Config{Metrics: m}}))
	defer srv.Close()
	value := func(series string) string {
		rec := httptest.NewRecorder()
		m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		for _, line := range strings.Split(rec.Body.String(), "\n") {
			if v, ok := strings.CutPrefix(line, series+" "); ok {
				return v
			}
		}
		return ""
	}
	waitValue := func(series, want string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for value(series) != want {
			if time.Now().After(deadline) {
				t.Fatalf("%s = %s, want %s", series, value(series), want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	bad, _, err := dial(t, wsURL(srv, "neverAtokenB23456789abcdefgh"), "")
	if err != nil {
		t.Fatal(err)
	}
	closeStatus(bad)
	waitValue(`tmate_relay_refusals_total{reason="bad_token"}`, "1")

	c, _, err := dial(t, wsURL(srv, sess.ReadOnlyToken()), "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, _, err := c.Read(ctx); err != nil { // the first frame
		t.Fatal(err)
	}
	waitValue(`tmate_relay_guests{role="ro",transport="web"}`, "1")
	waitValue(`tmate_relay_guest_joins_total{role="ro",transport="web"}`, "1")
	if v := value(`tmate_relay_guest_bytes_total{transport="web"}`); v == "0" || v == "" {
		t.Errorf("bytes to web guests: %q", v)
	}
	if v := value(`tmate_relay_guests{role="ro",transport="ssh"}`); v != "0" {
		t.Errorf("a browser guest counted as ssh: %s", v)
	}
	c.Close(websocket.StatusNormalClosure, "")
	waitValue(`tmate_relay_guests{role="ro",transport="web"}`, "0")
	waitValue(`tmate_relay_guest_leaves_total{role="ro",transport="web"}`, "1")
}

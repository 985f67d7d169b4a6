package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"tmate-relay/service/config"
	"tmate-relay/service/hostkey"
)

func TestPages(t *testing.T) {
	cfg := config.Default()
	cfg.SSH.HostKeysDir = t.TempDir()
	cfg.SSH.AdvertiseHost = "relay.example"
	cfg.Web.PublicURL = "https://relay.example"
	if _, err := hostkey.Generate(cfg.SSH.HostKeysDir); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(Handler(cfg))
	defer srv.Close()
	for _, tc := range []struct {
		path   string
		status int
		want   []string
	}{
		{"/", 200, []string{"tmate-relay", "https://relay.example/tmate.conf"}},
		{"/tmate.conf", 200, []string{"set -g tmate-server-host relay.example", "set -g tmate-server-port 10022",
			"tmate-server-ed25519-fingerprint SHA256:", "tmate-server-rsa-fingerprint SHA256:"}},
		{"/healthz", 200, []string{"ok"}},
		{"/nothing", 404, nil},
	} {
		resp, err := http.Get(srv.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d", tc.path, resp.StatusCode, tc.status)
		}
		for _, w := range tc.want {
			if !strings.Contains(string(body), w) {
				t.Errorf("%s lacks %q:\n%s", tc.path, w, body)
			}
		}
	}
}

func TestTmateConfWithoutKeysIsAnError(t *testing.T) {
	cfg := config.Default()
	cfg.SSH.HostKeysDir = t.TempDir()
	rec := httptest.NewRecorder()
	Handler(cfg).ServeHTTP(rec, httptest.NewRequest("GET", "/tmate.conf", nil))
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status %d without keys", rec.Code)
	}
}

func TestIndexShowsRepositoriesOnlyWhenEnabled(t *testing.T) {
	for _, enabled := range []bool{true, false} {
		cfg := config.Default()
		cfg.Web.PublicURL = "https://relay.example"
		cfg.Repo.Enabled = enabled
		rec := httptest.NewRecorder()
		Handler(cfg).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		body := rec.Body.String()
		if !strings.Contains(body, "curl -fsSL https://relay.example/tmate.conf -o ~/.tmate.conf") {
			t.Errorf("/ lacks how to point a host at the relay:\n%s", body)
		}
		if got := strings.Contains(body, "https://relay.example/apt/tmate-relay.sources"); got != enabled {
			t.Errorf("repositories enabled=%v, / shows their instructions: %v", enabled, got)
		}
	}
}

// A node being drained answers its load balancer's health check with 503,
// so that new hosts and guests go to other nodes; before, and on a relay
// that is never drained, ok.
func TestHealthzSaysWhenTheNodeIsDraining(t *testing.T) {
	draining := false
	for _, tc := range []struct {
		name     string
		opts     Options
		drain    bool
		status   int
		contains string
	}{
		{"on its own", Options{}, false, 200, "ok"},
		{"in a cluster", Options{Draining: func() bool { return draining }}, false, 200, "ok"},
		{"drained", Options{Draining: func() bool { return draining }}, true, 503, "draining"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			draining = tc.drain
			rec := httptest.NewRecorder()
			New(config.Default(), tc.opts).ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
			if rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.contains) {
				t.Errorf("/healthz: %d %q, want %d %q", rec.Code, rec.Body.String(), tc.status, tc.contains)
			}
		})
	}
}

package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"tmate-relay/service/config"
	"tmate-relay/service/metrics"
	"tmate-relay/service/session"
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

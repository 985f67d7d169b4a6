package web

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"tmate-relay/service/config"
)

// The admin pages answer only when [admin] turns them on: off, every
// /admin/ path is unknown (404); on, they ask for a login (401), and the
// player's assets are served from the relay.
func TestAdminPagesOnlyWhenConfigured(t *testing.T) {
	on := config.Default()
	on.Admin.Users = map[string]string{"alice": "$2a$04$6x.osI6oX8v/k72MJnYkueJspbEzk2B0fGzML7L.pOitDjpZDrJqu"}
	behindProxy := config.Default()
	behindProxy.Admin.TrustedHeader = "X-Forwarded-User"
	for _, tc := range []struct {
		name   string
		cfg    *config.Config
		status int
	}{
		{"off", config.Default(), http.StatusNotFound},
		{"users", on, http.StatusUnauthorized},
		{"trusted header", behindProxy, http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Recording.Dir = t.TempDir()
			srv := httptest.NewServer(New(tc.cfg, Options{}))
			defer srv.Close()
			for _, path := range []string{"/admin/", "/admin/recordings/", "/admin/recordings/20261203-100000-0000000a", "/admin/recordings/20261203-100000-0000000a/cast"} {
				resp, err := http.Get(srv.URL + path)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != tc.status {
					t.Errorf("%s: status %d, want %d", path, resp.StatusCode, tc.status)
				}
			}
			for _, path := range []string{"/assets/vendor/asciinema-player.min.js", "/assets/vendor/asciinema-player.css", "/assets/recording.js"} {
				resp, err := http.Get(srv.URL + path)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Errorf("%s: status %d, want 200", path, resp.StatusCode)
				}
			}
		})
	}
}

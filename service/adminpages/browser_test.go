package adminpages_test

import (
	"encoding/base64"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"tmate-relay/service/adminpages"
	"tmate-relay/service/config"
	"tmate-relay/service/web"
	"tmate-relay/service/web/browsertest"
)

// Headless Chromium opens a recording's page as a logged-in user, and
// asciinema-player, loaded from the relay under its CSP, plays the
// recording to its final frame.
func TestChromiumPlaysRecording(t *testing.T) {
	b := browsertest.Start(t, "../e2e/testdata/browser")
	dir := t.TempDir()
	const id = "20261203-100000-0000000a"
	start := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	adminpages.WriteRecording(t, dir, adminpages.Recording{ID: id, SessionName: "support-42", Host: "192.0.2.1:50000", Start: start, End: start.Add(2 * time.Second), Guests: 1})
	cfg := config.Default()
	cfg.Admin.Users = map[string]string{"alice": "$2a$04$6x.osI6oX8v/k72MJnYkueJspbEzk2B0fGzML7L.pOitDjpZDrJqu"}
	cfg.Recording.Dir = dir
	srv := httptest.NewServer(web.New(cfg, web.Options{}))
	defer srv.Close()

	auth := map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:s3cret pass"))}
	if status := b.OpenWithHeaders("list", srv.URL+"/admin/recordings/", 0, 0, auth); status != 200 {
		t.Fatalf("list: status %d", status)
	}
	if body := b.Body("list").Text; !strings.Contains(body, id) || !strings.Contains(body, "support-42") {
		t.Errorf("list shows:\n%s", body)
	}
	if status := b.OpenWithHeaders("play", srv.URL+"/admin/recordings/"+id, 0, 0, auth); status != 200 {
		t.Fatalf("player page: status %d", status)
	}
	var body string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		body = b.Body("play").Text
		if strings.Contains(body, "final-frame-42") {
			break
		}
	}
	t.Logf("page:\n%s", body)
	// The last frame cleared the screen: what came before is gone.
	if !strings.Contains(body, "final-frame-42") || !strings.Contains(body, "blue line") || strings.Contains(body, "echo hello") {
		t.Errorf("the player does not show the final frame")
	}
	if p := os.Getenv("ADMINPAGES_SCREENSHOT"); p != "" {
		b.Screenshot("play", p)
	}
}

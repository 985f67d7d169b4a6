package web

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"tmate-relay/service/audit"
	"tmate-relay/service/config"
	"tmate-relay/service/session"
)

// A browser guest's join and leave (web, its role, its time and bytes) and
// a wrong token's refusal are in the audit trail; the tokens are not.
func TestBrowserGuestsInTheAuditTrail(t *testing.T) {
	srv, sess, trail, file := auditedServer(t, nil)
	defer trail.Close()

	bad, _, err := dial(t, wsURL(srv, "neverAtokenB23456789abcdefgh"), "")
	if err != nil {
		t.Fatal(err)
	}
	closeStatus(bad)
	c, _, err := dial(t, wsURL(srv, sess.ReadOnlyToken()), "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, _, err := c.Read(ctx); err != nil { // the first frame
		t.Fatal(err)
	}
	c.Close(websocket.StatusNormalClosure, "")

	var lines []string
	for deadline := time.Now().Add(5 * time.Second); len(lines) < 3 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		trail.Flush()
		b, _ := os.ReadFile(file)
		lines = strings.Split(strings.TrimSpace(string(b)), "\n")
	}
	all := strings.Join(lines, "\n")
	if len(lines) != 3 || strings.Contains(all, sess.Token()) || strings.Contains(all, sess.ReadOnlyToken()) {
		t.Fatalf("audit file:\n%s", all)
	}
	for i, want := range [][]string{
		{`"event":"refusal"`, `"transport":"web"`, `"reason":"bad_token"`, `"guest_addr":"127.0.0.1"`},
		{`"event":"guest_join"`, `"session_id":"` + sess.ID() + `"`, `"transport":"web"`, `"role":"ro"`, `"guest_addr":"127.0.0.1"`},
		{`"event":"guest_leave"`, `"session_id":"` + sess.ID() + `"`, `"transport":"web"`, `"role":"ro"`, `"duration_s":`, `"bytes":`},
	} {
		for _, w := range want {
			if !strings.Contains(lines[i], w) {
				t.Errorf("line %d lacks %s: %s", i, w, lines[i])
			}
		}
	}
	if strings.Contains(lines[2], `"bytes":0}`) || strings.Contains(lines[2], `"bytes":0,`) {
		t.Errorf("no bytes to the guest: %s", lines[2])
	}
}

// Live counts a browser guest until its leave is recorded, so that a
// stopping relay that waits on it closes its audit trail after the leave.
func TestLiveWaitsForTheGuestsLeave(t *testing.T) {
	var live Live
	srv, sess, trail, file := auditedServer(t, &live)
	c, _, err := dial(t, wsURL(srv, sess.ReadOnlyToken()), "")
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, _, err := c.Read(ctx); err != nil { // the first frame: attached
		t.Fatal(err)
	}
	if n := live.Count(); n != 1 {
		t.Fatalf("live browser guests %d, want 1", n)
	}
	sess.End("The relay is stopping.")
	go func() { // the last words and the close, as a browser reads them
		for {
			if _, _, err := c.Read(ctx); err != nil {
				return
			}
		}
	}()
	if err := live.Wait(ctx); err != nil {
		t.Fatalf("Wait: %v with %d guests", err, live.Count())
	}
	trail.Close()
	b, _ := os.ReadFile(file)
	if !strings.Contains(string(b), `"event":"guest_leave"`) {
		t.Errorf("the audit file after Wait holds no guest_leave:\n%s", b)
	}
}

// auditedServer serves browser guests of one session with an audit trail
// writing to file (closed by the caller), counting them in live.
func auditedServer(t *testing.T, live *Live) (srv *httptest.Server, sess *session.Session, trail *audit.Trail, file string) {
	t.Helper()
	cfg := config.Default()
	cfg.Repo.Enabled = false
	reg := session.NewRegistry(0)
	sess = session.New(session.Config{AdvertiseHost: "relay.example", AdvertisePort: 10022}, &quietHost{})
	if err := reg.Add(sess); err != nil {
		t.Fatal(err)
	}
	file = filepath.Join(t.TempDir(), "audit.log")
	trail, err := audit.New(audit.Options{File: file})
	if err != nil {
		t.Fatal(err)
	}
	srv = httptest.NewServer(New(cfg, Options{Registry: reg, Audit: trail, Live: live}))
	t.Cleanup(srv.Close)
	return srv, sess, trail, file
}

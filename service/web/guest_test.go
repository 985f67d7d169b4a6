package web

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"tmate-relay/service/config"
	"tmate-relay/service/session"
	"tmate-relay/service/viewer"
)

// quietHost is a host that accepts everything a session sends it.
type quietHost struct {
	mu   sync.Mutex
	keys int
}

func (*quietHost) Notify(string) error         { return nil }
func (*quietHost) Resize(int, int) error       { return nil }
func (*quietHost) SetEnv(string, string) error { return nil }
func (*quietHost) Ready() error                { return nil }
func (h *quietHost) PaneKey(int, uint64) error {
	h.mu.Lock()
	h.keys++
	h.mu.Unlock()
	return nil
}
func (*quietHost) ExecCmd(int, ...string) error { return nil }

func (h *quietHost) sent() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.keys
}

// guestServer serves browser guests of one live session.
func guestServer(t *testing.T, publicURL string) (srv *httptest.Server, sess *session.Session, host *quietHost) {
	t.Helper()
	cfg := config.Default()
	cfg.Repo.Enabled = false
	cfg.Web.PublicURL = publicURL
	reg := session.NewRegistry(0)
	host = &quietHost{}
	sess = session.New(session.Config{AdvertiseHost: "relay.example", AdvertisePort: 10022}, host)
	if err := reg.Add(sess); err != nil {
		t.Fatal(err)
	}
	srv = httptest.NewServer(New(cfg, Options{Registry: reg, MaxMessage: 1024}))
	t.Cleanup(srv.Close)
	return srv, sess, host
}

func wsURL(srv *httptest.Server, token string) string {
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/t/" + token + "/ws?cols=90&rows=30"
}

func dial(t *testing.T, url, origin string) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	h := http.Header{}
	if origin != "" {
		h.Set("Origin", origin)
	}
	return websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: h})
}

// closeStatus reads until the relay closes the connection.
func closeStatus(c *websocket.Conn) (websocket.StatusCode, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		if _, _, err := c.Read(ctx); err != nil {
			var ce websocket.CloseError
			if errors.As(err, &ce) {
				return ce.Code, ce.Reason
			}
			return -1, err.Error()
		}
	}
}

func TestTerminalPageOfLiveAndUnknownTokens(t *testing.T) {
	srv, sess, _ := guestServer(t, "")
	get := func(token string) (int, string) {
		resp, err := http.Get(srv.URL + "/t/" + token)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get(sess.Token()); code != 200 || !strings.Contains(body, "term.js") {
		t.Fatalf("a live session's page: %d\n%s", code, body)
	}
	if code, body := get(sess.ReadOnlyToken()); code != 200 || !strings.Contains(body, "data-readonly") {
		t.Fatalf("a live session's read-only page: %d\n%s", code, body)
	}
	never, neverBody := get("neverAtokenB23456789abcdefgh")
	if never != 404 || !strings.Contains(neverBody, viewer.InvalidTokenMessage) {
		t.Fatalf("an unknown token's page: %d\n%s", never, neverBody)
	}
}

func TestWebSocketFromAnotherOriginIsRefused(t *testing.T) {
	srv, sess, _ := guestServer(t, "https://relay.example")
	if _, resp, err := dial(t, wsURL(srv, sess.Token()), "https://evil.example"); err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a foreign origin was not refused: %v", err)
	}
	c, _, err := dial(t, wsURL(srv, sess.Token()), "https://relay.example:443")
	if err != nil {
		t.Fatalf("public_url's own origin was refused: %v", err)
	}
	c.CloseNow()
}

func TestWebSocketOriginWithoutPublicURLIsTheHost(t *testing.T) {
	srv, sess, _ := guestServer(t, "")
	if _, _, err := dial(t, wsURL(srv, sess.Token()), "http://evil.example"); err == nil {
		t.Fatal("a foreign origin was accepted")
	}
	c, _, err := dial(t, wsURL(srv, sess.Token()), srv.URL)
	if err != nil {
		t.Fatalf("the page's own origin was refused: %v", err)
	}
	c.CloseNow()
}

func TestWebSocketOfUnknownTokenIsClosedWithTheMessage(t *testing.T) {
	srv, _, _ := guestServer(t, "")
	c, _, err := dial(t, wsURL(srv, "neverAtokenB23456789abcdefgh"), "")
	if err != nil {
		t.Fatal(err)
	}
	if code, reason := closeStatus(c); code != closeRefused || reason != viewer.InvalidTokenMessage {
		t.Fatalf("closed with %d %q", code, reason)
	}
}

func TestOversizedMessageEndsTheGuest(t *testing.T) {
	srv, sess, host := guestServer(t, "")
	c, _, err := dial(t, wsURL(srv, sess.Token()), "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageBinary, []byte("a")); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); host.sent() == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("a keystroke did not reach the host")
		}
	}
	c.Write(ctx, websocket.MessageBinary, make([]byte, 2048))
	if code, _ := closeStatus(c); code != websocket.StatusMessageTooBig {
		t.Fatalf("an oversized message closed the connection with %d", code)
	}
}

func TestSessionEndClosesTheGuestWithItsReason(t *testing.T) {
	srv, sess, _ := guestServer(t, "")
	c, _, err := dial(t, wsURL(srv, sess.ReadOnlyToken()), "")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	sess.End("The host closed the session.")
	// The last words arrive as the terminal's last data, then a close.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var last []byte
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			var ce websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != closeEnded || ce.Reason != "The host closed the session." {
				t.Fatalf("closed with %v", err)
			}
			break
		}
		last = data
	}
	if want := "[The host closed the session.]\r\n"; !strings.HasSuffix(string(last), want) {
		t.Errorf("last data %q, want it to end with %q", last, want)
	}
}

// refusalLog is a TokenRefusals that records who was refused and waits
// for nothing.
type refusalLog struct {
	mu    sync.Mutex
	addrs []string
}

func (l *refusalLog) RefuseToken(addr string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.addrs = append(l.addrs, addr)
	return 0
}

func (l *refusalLog) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.addrs)
}

// An unknown token, on the page or its WebSocket, counts as a failed
// attempt of the address with the per-address slow-down the SSH side
// keeps; a live token does not.
func TestUnknownWebTokensAreSlowedDownPerAddress(t *testing.T) {
	cfg := config.Default()
	cfg.Repo.Enabled = false
	reg := session.NewRegistry(0)
	sess := session.New(session.Config{AdvertiseHost: "relay.example", AdvertisePort: 10022}, &quietHost{})
	if err := reg.Add(sess); err != nil {
		t.Fatal(err)
	}
	refusals := &refusalLog{}
	srv := httptest.NewServer(New(cfg, Options{Registry: reg, TokenRefusals: refusals}))
	t.Cleanup(srv.Close)

	for _, path := range []string{"/t/neverAtokenB23456789abcdefgh", "/t/not-even-a-token!", "/t/" + sess.Token()} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	c, _, err := dial(t, wsURL(srv, "neverAtokenB23456789abcdefgh"), "")
	if err != nil {
		t.Fatal(err)
	}
	closeStatus(c)
	refusals.mu.Lock()
	defer refusals.mu.Unlock()
	if want := []string{"127.0.0.1", "127.0.0.1", "127.0.0.1"}; strings.Join(refusals.addrs, " ") != strings.Join(want, " ") {
		t.Fatalf("refusals recorded for %q, want %q (two pages, one WebSocket)", refusals.addrs, want)
	}
}

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

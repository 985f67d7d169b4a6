package web

import (
	"context"
	"encoding/json"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"tmate-relay/service/audit"
	"tmate-relay/service/config"
	"tmate-relay/service/internal/faultinject"
	"tmate-relay/service/metrics"
	"tmate-relay/service/peertext"
	"tmate-relay/service/session"
	"tmate-relay/service/viewer"
)

// WebSocket close codes the page acts on: after these it does not
// reconnect, and shows the reason. Any other close (a dropped connection,
// a relay restart) makes it reconnect.
const (
	closeEnded   websocket.StatusCode = 4000 // detached, or the session ended
	closeRefused websocket.StatusCode = 4001 // unknown token, guest limit
)

// mountGuests serves browser guests: the terminal page at /t/TOKEN and its
// WebSocket at /t/TOKEN/ws.
//
// A token is a secret: it is never logged, and the page's headers keep it
// out of Referer headers.
func mountGuests(mux *http.ServeMux, cfg *config.Config, opts Options) {
	if opts.Viewer.Watchdog == nil {
		opts.Viewer.Watchdog = viewer.NewWatchdog()
	}
	g := &guests{opts: opts, origin: publicOrigin(cfg), allowRestricted: cfg.Web.AllowRestrictedSessions}
	mux.HandleFunc("GET /t/{token}", g.page)
	mux.HandleFunc("GET /t/{token}/ws", g.websocket)
}

type guests struct {
	opts   Options
	origin string // scheme://host[:port] of public_url, "" when not set
	// allowRestricted lets browsers join sessions restricted to guests'
	// SSH keys ([web] allow_restricted_sessions).
	allowRestricted bool
}

// Forwarder serves a browser guest's request (the page or its WebSocket)
// from the node of a cluster that holds the session.
type Forwarder interface {
	// ForwardWeb serves r from the node holding token's session and
	// reports true; false when no other node holds it.
	ForwardWeb(w http.ResponseWriter, r *http.Request, token string) bool
}

// forwarded serves r from another node when its token's session is not
// here but there.
func (gs *guests) forwarded(w http.ResponseWriter, r *http.Request) bool {
	token := r.PathValue("token")
	if gs.opts.Forwarder == nil || !session.ValidTokenSyntax(token) {
		return false
	}
	if _, _, ok := gs.opts.Registry.Lookup(token); ok {
		return false
	}
	return gs.opts.Forwarder.ForwardWeb(w, r, token)
}

// RestrictedMessage is what a browser guest of a session restricted to SSH
// keys reads when [web] allow_restricted_sessions is off.
const RestrictedMessage = "This session only accepts guests with SSH keys its host listed (tmate-authorized-keys): join it with ssh, not a browser."

// refused reports why a browser at addr may not join sess ("" if it may).
func (gs *guests) refused(sess *session.Session, addr string) string {
	if !gs.allowRestricted && sess.RestrictsGuests() {
		e := sess.AuditEvent("")
		e.GuestAddr, e.Why = addr, "session restricted to SSH keys"
		gs.refuse(metrics.GuestKey, e)
		return RestrictedMessage
	}
	return ""
}

// refuse counts a refusal for reason and records it in the audit trail as
// e, a browser guest's.
func (gs *guests) refuse(reason metrics.Reason, e audit.Event) {
	gs.opts.Metrics.Refused(reason)
	e.Kind, e.Reason, e.Transport = audit.Refusal, string(reason), string(session.TransportWeb)
	gs.opts.Audit.Emit(e)
}

// lookup finds the session of a token; an unknown token from addr waits as
// over SSH (Options.TokenRefusals), so that guessing is slow and timing
// tells nothing.
func (gs *guests) lookup(token, addr string) (sess *session.Session, readOnly, ok bool) {
	if session.ValidTokenSyntax(token) {
		sess, readOnly, ok = gs.opts.Registry.Lookup(token)
	}
	if !ok {
		gs.refuse(metrics.BadToken, audit.Event{GuestAddr: addr, Why: "invalid or expired token"})
		if gs.opts.TokenRefusals != nil {
			time.Sleep(gs.opts.TokenRefusals.RefuseToken(addr))
		} else {
			time.Sleep(viewer.RefusalDelay())
		}
	}
	return sess, readOnly, ok
}

// page serves the terminal page of a live session, or the same "no such
// session" page for a token that never existed and one whose session ended.
func (gs *guests) page(w http.ResponseWriter, r *http.Request) {
	if gs.forwarded(w, r) {
		return
	}
	secureHeaders(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	sess, readOnly, ok := gs.lookup(r.PathValue("token"), remoteIP(r.RemoteAddr))
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		noSessionPage.Execute(w, viewer.InvalidTokenMessage)
		return
	}
	if why := gs.refused(sess, remoteIP(r.RemoteAddr)); why != "" {
		w.WriteHeader(http.StatusForbidden)
		restrictedPage.Execute(w, why)
		gs.opts.Log.Info("web guest refused: session restricted to SSH keys", "addr", remoteIP(r.RemoteAddr))
		return
	}
	termPage.Execute(w, readOnly)
}

// websocket joins a browser guest to its session: binary messages carry
// keystrokes to the relay and frames to the browser, text messages from the
// browser carry its terminal size as {"cols":N,"rows":N}. The first size
// comes in the query (?cols=N&rows=N).
func (gs *guests) websocket(w http.ResponseWriter, r *http.Request) {
	addr := remoteIP(r.RemoteAddr)
	log := gs.opts.Log.With("addr", addr, "role", "guest", "via", "web")
	if !gs.originAllowed(r) {
		log.Info("web guest refused: foreign origin", "origin", peertext.Cut(r.Header.Get("Origin"), peertext.Long))
		http.Error(w, "cross-origin WebSocket refused", http.StatusForbidden)
		return
	}
	if gs.forwarded(w, r) {
		return
	}
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		InsecureSkipVerify: true, // the origin was checked above, against public_url
		CompressionMode:    websocket.CompressionDisabled,
	})
	if err != nil {
		log.Debug("websocket handshake failed", "err", err)
		return
	}
	defer c.CloseNow()
	c.SetReadLimit(gs.opts.MaxMessage)

	sess, readOnly, ok := gs.lookup(r.PathValue("token"), addr)
	if !ok {
		c.Close(closeRefused, viewer.InvalidTokenMessage)
		log.Info("guest refused: invalid or expired token")
		return
	}
	if why := gs.refused(sess, addr); why != "" {
		c.Close(closeRefused, why)
		log.Info("guest refused: session restricted to SSH keys")
		return
	}
	cols := viewer.ClampSize(atoi(r.URL.Query().Get("cols")), 80)
	rows := viewer.ClampSize(atoi(r.URL.Query().Get("rows")), 24)
	g, err := sess.AttachVia(session.TransportWeb, readOnly, addr, cols, rows)
	if err != nil {
		if metrics.IsLimit(err) {
			e := sess.AuditEvent("")
			e.GuestAddr, e.Role, e.Why = addr, audit.Role(readOnly), err.Error()
			gs.refuse(metrics.Limits, e)
		}
		c.Close(closeRefused, err.Error())
		log.Info("guest refused", "err", err)
		return
	}
	gs.opts.Live.add(1)
	defer gs.opts.Live.add(-1) // after the leave is recorded, below
	log = log.With("session", sess.ID())
	log.Info("guest joined", "client", g.ClientID, "readonly", readOnly)
	gs.opts.Metrics.GuestJoined(g)
	defer gs.opts.Metrics.GuestLeft(g)
	gs.opts.Audit.Emit(sess.GuestEvent(audit.GuestJoin, g))
	t := newWSTerminal(r.Context(), c)
	stop := keepAlive(t.ctx, c, gs.opts.PingInterval, log)
	why := viewer.Run(sess, g, t, gs.opts.Viewer)
	stop()
	sess.Detach(g)
	log.Info("guest left", "client", g.ClientID, "why", why)
	left := sess.GuestEvent(audit.GuestLeave, g)
	left.Why = why
	gs.opts.Audit.Emit(left)
}

// wsTerminal is a browser's WebSocket as the viewer sees it.
type wsTerminal struct {
	ctx       context.Context
	cancel    context.CancelFunc
	c         *websocket.Conn
	resizes   chan viewer.Size
	pending   []byte // the rest of a keystroke message Read has not returned yet
	closeOnce sync.Once
}

func newWSTerminal(parent context.Context, c *websocket.Conn) *wsTerminal {
	ctx, cancel := context.WithCancel(context.WithoutCancel(parent))
	return &wsTerminal{ctx: ctx, cancel: cancel, c: c, resizes: make(chan viewer.Size, 1)}
}

// Read returns keystrokes; size messages it passes on to Resizes, keeping
// only the latest when the session is slow to take them.
func (t *wsTerminal) Read(b []byte) (int, error) {
	for len(t.pending) == 0 {
		typ, data, err := t.c.Read(t.ctx)
		if err != nil {
			t.closeOnce.Do(func() { close(t.resizes); t.cancel() })
			return 0, err
		}
		if typ == websocket.MessageBinary {
			if faultinject.Hook != nil {
				faultinject.Hook(faultinject.WebInput, data)
			}
			t.pending = data
			break
		}
		var size struct{ Cols, Rows int }
		if json.Unmarshal(data, &size) != nil {
			continue // not a size: ignored, as an SSH guest's unknown request
		}
		select {
		case <-t.resizes:
		default:
		}
		t.resizes <- viewer.Size{W: viewer.ClampSize(size.Cols, 80), H: viewer.ClampSize(size.Rows, 24)}
	}
	n := copy(b, t.pending)
	t.pending = t.pending[n:]
	return n, nil
}

// Write waits as long as the browser takes: the viewer drops a browser
// that takes nothing for its WriteTimeout (Drop).
func (t *wsTerminal) Write(b []byte) (int, error) {
	if err := t.c.Write(t.ctx, websocket.MessageBinary, b); err != nil {
		return 0, err
	}
	return len(b), nil
}

func (t *wsTerminal) Resizes() <-chan viewer.Size { return t.resizes }

// CursorStyles: xterm.js takes DECSCUSR as xterm does.
func (t *wsTerminal) CursorStyles() bool { return true }

// Drop closes the browser's connection at once: a close frame would wait
// behind the frames it has not read.
func (t *wsTerminal) Drop() {
	t.cancel()
	t.c.CloseNow()
}

// End closes the WebSocket with a code that tells the page not to
// reconnect, and the reason it shows.
func (t *wsTerminal) End(why string) {
	if len(why) > 120 { // a close frame's reason is at most 123 bytes
		why = why[:120]
	}
	t.c.Close(closeEnded, why)
}

// keepAlive pings the browser every interval; a ping unanswered for an
// interval ends the connection, so a vanished browser does not hold its
// place in the session. Pongs arrive while Read is reading.
func keepAlive(ctx context.Context, c *websocket.Conn, every time.Duration, log *slog.Logger) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			pctx, pcancel := context.WithTimeout(ctx, every)
			err := c.Ping(pctx)
			pcancel()
			if err != nil {
				if ctx.Err() == nil {
					log.Info("keepalive timeout")
					c.CloseNow()
				}
				return
			}
		}
	}()
	return cancel
}

// originAllowed accepts a WebSocket from the relay's own pages only: the
// Origin must be public_url's (or, without public_url, the Host asked
// for). Requests without an Origin are not from a browser page, and a
// non-browser client could send any Origin anyway.
func (gs *guests) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if gs.origin != "" {
		return strings.EqualFold(normalOrigin(u), gs.origin)
	}
	return strings.EqualFold(withoutDefaultPort(u.Scheme, u.Host), withoutDefaultPort(u.Scheme, r.Host))
}

// publicOrigin is scheme://host[:port] of [web] public_url, "" when unset.
func publicOrigin(cfg *config.Config) string {
	if cfg.Web.PublicURL == "" {
		return ""
	}
	u, err := url.Parse(cfg.Web.PublicURL)
	if err != nil || u.Host == "" {
		return ""
	}
	return normalOrigin(u)
}

func normalOrigin(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	return scheme + "://" + withoutDefaultPort(scheme, strings.ToLower(u.Host))
}

func withoutDefaultPort(scheme, host string) string {
	switch {
	case scheme == "http" && strings.HasSuffix(host, ":80"):
		return strings.TrimSuffix(host, ":80")
	case scheme == "https" && strings.HasSuffix(host, ":443"):
		return strings.TrimSuffix(host, ":443")
	}
	return host
}

func remoteIP(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return host
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0
	}
	return n
}

var termPage = template.Must(template.New("term").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tmate{{if .}} (read only){{end}}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/assets/vendor/xterm.css">
<link rel="stylesheet" href="/assets/term.css"></head>
<body data-state="connecting" data-connects="0"{{if .}} data-readonly{{end}}>
<div id="terminal"></div>
<div id="banner" hidden></div>
<script src="/assets/vendor/xterm.js"></script>
<script src="/assets/vendor/addon-fit.js"></script>
<script src="/assets/term.js"></script>
</body></html>
`))

var restrictedPage = template.Must(template.New("restricted").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tmate: SSH guests only</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/assets/page.css"></head>
<body class="page" data-state="restricted"><main>
<h1>{{.}}</h1>
<p>Ask the person sharing their terminal for the ssh command, and to add your
public key to their tmate-authorized-keys file.</p>
<p><a href="/">About this relay</a></p>
</main></body></html>
`))

var noSessionPage = template.Must(template.New("nosession").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tmate: no such session</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/assets/page.css"></head>
<body class="page" data-state="nosession"><main>
<h1>{{.}}</h1>
<p>There is no session at this address: it has ended, or the link is wrong.
Ask the person sharing their terminal for a fresh link.</p>
<p><a href="/">About this relay</a></p>
</main></body></html>
`))

// Package web is the relay's HTTP side: what the relay is, the tmate.conf
// hosts need, browser guests (a terminal page and its WebSocket), the
// package repositories, the admin pages (recordings), and a health check
// for load balancers and monitoring.
package web

import (
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"time"

	"tmate-relay/service/accept"
	"tmate-relay/service/adminpages"
	"tmate-relay/service/audit"
	"tmate-relay/service/clientconf"
	"tmate-relay/service/config"
	"tmate-relay/service/metrics"
	"tmate-relay/service/session"
	"tmate-relay/service/viewer"
)

// Options is what the web side needs beyond relay.toml; zero values mean
// defaults.
type Options struct {
	// Registry holds the live sessions browser guests join; nil serves no
	// terminal pages.
	Registry *session.Registry
	// Viewer paces browser guests' frames and input as for SSH guests.
	Viewer viewer.Config
	// MaxMessage caps one message from a browser in bytes (64 KiB); the
	// page sends a paste in smaller pieces.
	MaxMessage int64
	// PingInterval is how often a browser's WebSocket is probed (30 s);
	// an unanswered ping within the next interval ends it.
	PingInterval time.Duration
	Log          *slog.Logger
	// TokenRefusals slows token guessing down per address, with the
	// counts the SSH side keeps (sshd.Server.RefuseToken); nil: each
	// unknown token waits a random 50 to 200 ms only.
	TokenRefusals TokenRefusals
	// Metrics counts browser guests' joins and refusals (nil: none), and
	// is served at /metrics when [web] metrics is true.
	Metrics *metrics.Metrics
	// Audit records browser guests' joins, leaves and refusals (nil: none).
	Audit *audit.Trail
	// Live counts the browser guests being served (nil: not counted), so
	// that a stopping relay can wait for their last events.
	Live *Live
	// Forwarder carries browser guests to the node of a cluster that
	// holds their session (nil: a relay on its own).
	Forwarder Forwarder
	// Draining reports whether this node of a cluster is being drained:
	// then /healthz answers 503, so that a load balancer checking it sends
	// new hosts and guests to other nodes (nil: never).
	Draining func() bool
}

// TokenRefusals records an unknown token from an address and says how
// long its refusal waits.
type TokenRefusals interface {
	RefuseToken(addr string) time.Duration
}

// Connection limits of the web side, so that idle or slow clients cannot
// hold descriptors for long: a request's headers must arrive within
// ReadHeaderTimeout and fit in MaxHeaderBytes, and a keep-alive connection
// idle for IdleTimeout between requests is closed. A browser opens a new
// one when it needs it. A WebSocket, once open, has its own ping deadline
// (Options.PingInterval).
const (
	ReadHeaderTimeout  = 10 * time.Second
	DefaultIdleTimeout = time.Minute
	MaxHeaderBytes     = 32 << 10
)

// NewServer is the web side's http.Server for h; idle is its IdleTimeout
// (zero: DefaultIdleTimeout). Serve it on a Listener.
func NewServer(h http.Handler, idle time.Duration, log *slog.Logger) *http.Server {
	if idle <= 0 {
		idle = DefaultIdleTimeout
	}
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: ReadHeaderTimeout,
		IdleTimeout:       idle,
		MaxHeaderBytes:    MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// Listener wraps the web side's listener l: a failed accept (out of
// descriptors) is waited out, not the end of the server, and one source
// address (an IPv6 /64) holds at most perAddress connections open; more
// are closed at once. With proxyProtocol ([web] proxy_protocol) each
// connection must open with a PROXY protocol header, read within
// ReadHeaderTimeout as a request's headers are, and its address is the
// client's the header names; without, a connection that sends one is
// refused.
func Listener(l net.Listener, perAddress int, proxyProtocol bool, log *slog.Logger) net.Listener {
	l = accept.Retrying(l, "web", log)
	if proxyProtocol {
		l = accept.ProxyHeaders(l, ReadHeaderTimeout, "web", log)
	} else {
		l = accept.RefuseProxyHeaders(l, "web", log)
	}
	return accept.PerAddress(l, perAddress, "web", log)
}

// Handler serves the relay's pages for cfg, without browser guests.
func Handler(cfg *config.Config) http.Handler { return New(cfg, Options{}) }

// New serves the relay's pages for cfg, and browser guests of the sessions
// in opts.Registry.
func New(cfg *config.Config, opts Options) http.Handler {
	if opts.MaxMessage <= 0 {
		opts.MaxMessage = 64 << 10
	}
	if opts.PingInterval <= 0 {
		opts.PingInterval = 30 * time.Second
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		secureHeaders(w)
		indexPage.Execute(w, struct {
			URL  string
			Repo bool
		}{cfg.WebURL(), cfg.Repo.Enabled})
	})
	mux.HandleFunc("GET /tmate.conf", func(w http.ResponseWriter, r *http.Request) {
		conf, err := clientconf.FromConfig(cfg)
		if err != nil {
			http.Error(w, "the relay's host keys cannot be read", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprint(w, conf)
	})
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent) // none, and no 404 in every browser console
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if opts.Draining != nil && opts.Draining() {
			http.Error(w, "draining", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.Handle("GET /assets/", http.StripPrefix("/assets/", assetServer()))
	if opts.Registry != nil {
		mountGuests(mux, cfg, opts)
	}
	mountRepo(mux, cfg)
	if cfg.Admin.Pages() {
		mux.Handle(adminpages.Prefix, adminpages.New(cfg.Admin, adminpages.Options{
			Dir: cfg.Recording.Dir, Audit: opts.Audit, Refusals: opts.TokenRefusals, Log: opts.Log,
		}))
	}
	if cfg.Web.Metrics && opts.Metrics != nil {
		mux.Handle("GET /metrics", opts.Metrics.Handler())
	}
	return mux
}

// secureHeaders keeps a page's address (which holds a session token) out of
// other sites' logs, and the page out of other sites' frames.
func secureHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	// xterm.js sets styles from script; nothing else is inline.
	h.Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'")
	h.Set("Cache-Control", "no-store")
}

var indexPage = template.Must(template.New("index").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tmate-relay</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/assets/page.css"></head>
<body class="page"><main>
<h1>tmate-relay</h1>
<p>A self-hosted relay for <a href="https://tmate.io/">tmate</a>: share a terminal with
colleagues, who join with a plain <code>ssh</code> command or this web page, without the
session leaving this relay.</p>

<h2>Point a host at this relay</h2>
<p>The configuration a host needs is at <a href="/tmate.conf">{{.URL}}/tmate.conf</a>:</p>
<pre>curl -fsSL {{.URL}}/tmate.conf -o ~/.tmate.conf
tmate</pre>
<p><code>tmate show-messages</code> (or <code>tmate display -p '#{tmate_web}'</code>) then
gives the ssh commands and web addresses to hand to your guests.</p>
{{if .Repo}}
<h2>Or install the client package</h2>
<p>This relay publishes signed package repositories with <code>elephant-shed-tmate</code>, which
configures every user of a host for this relay. Debian and Ubuntu (as root):</p>
<pre>curl -fsSL {{.URL}}/tmate-relay.gpg -o /usr/share/keyrings/tmate-relay.gpg
curl -fsSL {{.URL}}/apt/tmate-relay.sources -o /etc/apt/sources.list.d/tmate-relay.sources
apt-get update &amp;&amp; apt-get install elephant-shed-tmate</pre>
<p>RHEL, Fedora and other dnf hosts (as root):</p>
<pre>curl -fsSL {{.URL}}/yum/tmate-relay.repo -o /etc/yum.repos.d/tmate-relay.repo
dnf install elephant-shed-tmate</pre>
<p>The signing key is also at <a href="/tmate-relay.asc">{{.URL}}/tmate-relay.asc</a>.</p>
{{end}}
</main></body></html>
`))

// Package adminpages serves the admin pages on the relay's web port: the
// list of session recordings and a page that plays one with
// asciinema-player, served from the relay itself. Every request is
// authenticated first ([admin] users with HTTP Basic authentication, or
// [admin] trusted_header set by an authenticating proxy); a refused one
// gets 401 whatever it asked for, so a refusal never tells whether a
// recording exists, and leaves an audit event.
package adminpages

import (
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"tmate-relay/service/audit"
	"tmate-relay/service/config"
	"tmate-relay/service/recording"
	"tmate-relay/service/viewer"
)

// Prefix is where the admin pages live on the web port.
const Prefix = "/admin/"

// Refusals records a failed login from an address and says how long its
// refusal waits (the per-address slow-down token guessing gets too).
type Refusals interface {
	RefuseToken(addr string) time.Duration
}

// Options is what the pages need beyond [admin].
type Options struct {
	// Dir holds the recordings ([recording] dir).
	Dir string
	// Audit records refusals and recordings served (nil: none).
	Audit *audit.Trail
	// Refusals slows down wrong passwords per address; nil: each waits a
	// random 50 to 200 ms only.
	Refusals Refusals
	Log      *slog.Logger
}

// New serves the admin pages under Prefix for a, which must have them on
// (config.Admin.Pages).
func New(a config.Admin, opts Options) http.Handler {
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	p := &pages{creds: newCredentials(a.Users, a.TrustedHeader), opts: opts, mux: http.NewServeMux()}
	p.mux.HandleFunc("GET /admin/{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/admin/recordings/", http.StatusSeeOther)
	})
	p.mux.HandleFunc("GET /admin/recordings/{$}", p.list)
	p.mux.HandleFunc("GET /admin/recordings/{id}", p.play)
	p.mux.HandleFunc("GET /admin/recordings/{id}/cast", p.cast)
	return p
}

type pages struct {
	creds *credentials
	opts  Options
	mux   *http.ServeMux
}

func (p *pages) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	secureHeaders(w)
	v := p.creds.authenticate(r)
	if !v.ok {
		p.refuse(w, r, v)
		return
	}
	r = r.WithContext(withUser(r.Context(), v.user))
	p.mux.ServeHTTP(w, r)
}

// refuse answers 401 after the slow-down, the same for every path.
func (p *pages) refuse(w http.ResponseWriter, r *http.Request, v verdict) {
	addr := remoteIP(r.RemoteAddr)
	e := audit.Event{Kind: audit.AdminPage, Action: action(r), Addr: addr, User: v.user, Result: "refused", Why: v.why}
	if id := recordingID(r); recording.ValidID(id) {
		e.Recording = id
	}
	p.opts.Audit.Emit(e)
	switch {
	case v.guessed && p.opts.Refusals != nil:
		time.Sleep(p.opts.Refusals.RefuseToken(addr))
	case v.guessed:
		time.Sleep(viewer.RefusalDelay())
	}
	if c := p.creds.challenge(); c != "" {
		w.Header().Set("WWW-Authenticate", c)
	}
	http.Error(w, "401 authentication required", http.StatusUnauthorized)
}

// remoteIP is the client's address without its port: what the
// per-address counts and the audit trail go by.
func remoteIP(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return host
}

// action names what a request to the admin pages asks for, for the audit
// trail.
func action(r *http.Request) string {
	rest, _ := strings.CutPrefix(r.URL.Path, "/admin/recordings/")
	switch {
	case r.URL.Path == "/admin/":
		return "index"
	case rest == r.URL.Path:
		return "other"
	case rest == "":
		return "list"
	case strings.HasSuffix(rest, "/cast"):
		return "download"
	default:
		return "play"
	}
}

// recordingID is the recording a request names in its path, unchecked.
func recordingID(r *http.Request) string {
	rest, _ := strings.CutPrefix(r.URL.Path, "/admin/recordings/")
	id, _, _ := strings.Cut(rest, "/")
	return id
}

// secureHeaders keep the pages out of caches and other sites' frames, and
// let them load nothing from elsewhere. asciinema-player compiles its
// WebAssembly terminal ('wasm-unsafe-eval') and sets styles from script.
func secureHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
}

func (p *pages) list(w http.ResponseWriter, r *http.Request) {
	list, err := recording.List(p.opts.Dir)
	if err != nil {
		p.opts.Log.Warn("recordings", "err", err)
		if _, dirErr := os.ReadDir(p.opts.Dir); dirErr != nil {
			http.Error(w, "the recordings' directory cannot be read", http.StatusInternalServerError)
			return
		}
	}
	unreadable := 0
	if err != nil {
		unreadable = strings.Count(err.Error(), "\n") + 1
	}
	rows := make([]row, len(list))
	for i, in := range list {
		rows[i] = newRow(in)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	listPage.Execute(w, struct {
		User       string
		Rows       []row
		Unreadable int
	}{userOf(r.Context()), rows, unreadable})
}

func (p *pages) play(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	path, err := recording.Path(p.opts.Dir, id)
	if err != nil {
		p.notFound(w, err)
		return
	}
	in, err := recording.Read(path)
	if err != nil {
		p.notFound(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	playPage.Execute(w, struct {
		User string
		Row  row
	}{userOf(r.Context()), newRow(in)})
}

func (p *pages) cast(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	path, err := recording.Path(p.opts.Dir, id)
	if err != nil {
		p.notFound(w, err)
		return
	}
	f, err := os.Open(path)
	if err != nil {
		p.notFound(w, err)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		p.notFound(w, err)
		return
	}
	p.opts.Audit.Emit(audit.Event{Kind: audit.AdminPage, Action: "download", Recording: id, User: userOf(r.Context()), Addr: remoteIP(r.RemoteAddr), Result: "ok"})
	w.Header().Set("Content-Type", "application/x-asciicast")
	http.ServeContent(w, r, "", st.ModTime(), f)
}

// notFound answers an authenticated request for a recording that is not
// there (or not readable, which is logged).
func (p *pages) notFound(w http.ResponseWriter, err error) {
	if !errors.Is(err, fs.ErrNotExist) {
		p.opts.Log.Warn("recording", "err", err)
	}
	http.Error(w, "404 no such recording", http.StatusNotFound)
}

// row is a recording as the pages show it.
type row struct {
	ID, SessionName, Host, Start, End, Size string
	Guests                                  int
	Previous, Stopped                       string
}

const timeLayout = "2006-01-02 15:04:05 MST"

func newRow(in recording.Info) row {
	r := row{ID: in.ID, SessionName: in.SessionName, Host: in.Host, Start: in.Start.UTC().Format(timeLayout),
		End: "still recording", Size: size(in.Size), Guests: in.Guests, Previous: in.Previous, Stopped: in.Stopped}
	if !in.End.IsZero() {
		r.End = in.End.UTC().Format(timeLayout)
	}
	return r
}

// size is n bytes for people: 1023 B, 1.5 KiB, 12.0 MiB.
func size(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	f, unit := float64(n)/1024, "KiB"
	for _, u := range []string{"MiB", "GiB", "TiB"} {
		if f < 1024 {
			break
		}
		f, unit = f/1024, u
	}
	return fmt.Sprintf("%.1f %s", f, unit)
}

var listPage = template.Must(template.New("list").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Recordings · tmate-relay</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/assets/page.css"></head>
<body class="page admin"><main>
<h1>Recordings</h1>
<p class="who">Signed in as <b>{{.User}}</b>.</p>
{{if .Unreadable}}<p class="warn">{{.Unreadable}} file(s) in the recordings' directory could not be read; the relay's log names them.</p>{{end}}
{{if .Rows}}
<table id="recordings">
<thead><tr><th>ID</th><th>Session</th><th>Host</th><th>Start</th><th>End</th><th>Size</th><th>Guests</th></tr></thead>
<tbody>
{{range .Rows}}<tr><td><a href="/admin/recordings/{{.ID}}">{{.ID}}</a></td><td>{{.SessionName}}</td><td>{{.Host}}</td><td>{{.Start}}</td><td>{{.End}}</td><td>{{.Size}}</td><td>{{.Guests}}</td></tr>
{{end}}</tbody></table>
{{else}}<p>No recordings yet.</p>{{end}}
</main></body></html>
`))

var playPage = template.Must(template.New("play").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Recording {{.Row.ID}} · tmate-relay</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/assets/page.css">
<link rel="stylesheet" href="/assets/vendor/asciinema-player.css"></head>
<body class="page admin"><main>
<p><a href="/admin/recordings/">All recordings</a></p>
<h1>Recording {{.Row.ID}}</h1>
<dl>
<dt>Session</dt><dd>{{or .Row.SessionName "(unnamed)"}}</dd>
<dt>Host</dt><dd>{{.Row.Host}}</dd>
<dt>Start</dt><dd>{{.Row.Start}}</dd>
<dt>End</dt><dd>{{.Row.End}}</dd>
<dt>Size</dt><dd>{{.Row.Size}}</dd>
<dt>Guests</dt><dd>{{.Row.Guests}}</dd>
{{if .Row.Previous}}<dt>Continues</dt><dd><a href="/admin/recordings/{{.Row.Previous}}">{{.Row.Previous}}</a></dd>{{end}}
{{if .Row.Stopped}}<dt>Stopped early</dt><dd>{{.Row.Stopped}}</dd>{{end}}
</dl>
<div id="player" data-cast="/admin/recordings/{{.Row.ID}}/cast"></div>
<p><a href="/admin/recordings/{{.Row.ID}}/cast" download="{{.Row.ID}}.cast">Download</a> (asciicast v2: <code>asciinema play</code>)</p>
</main>
<script src="/assets/vendor/asciinema-player.min.js"></script>
<script src="/assets/recording.js"></script>
</body></html>
`))

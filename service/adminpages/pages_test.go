package adminpages

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"tmate-relay/service/audit"
	"tmate-relay/service/config"
)

// bcrypt (cost 4) of "s3cret pass".
const aliceHash = "$2a$04$6x.osI6oX8v/k72MJnYkueJspbEzk2B0fGzML7L.pOitDjpZDrJqu"

const recID = "20261203-100000-0000000a"

var recStart = time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)

// countingRefusals records the addresses whose logins failed.
type countingRefusals struct {
	mu    sync.Mutex
	addrs []string
}

func (c *countingRefusals) RefuseToken(addr string) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.addrs = append(c.addrs, addr)
	return 0
}

func (c *countingRefusals) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.addrs)
}

type fixture struct {
	srv      *httptest.Server
	trail    *audit.Trail
	file     string
	refusals *countingRefusals
	cast     string // the recording's file
}

// serve runs the admin pages for a over a directory with one recording.
func serve(t *testing.T, a config.Admin) *fixture {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{file: filepath.Join(t.TempDir(), "audit.log"), refusals: &countingRefusals{}}
	f.cast = WriteRecording(t, dir, Recording{ID: recID, SessionName: "support-42", Host: "192.0.2.1:50000", Start: recStart, End: recStart.Add(90 * time.Second), Guests: 2})
	var err error
	if f.trail, err = audit.New(audit.Options{File: f.file}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.trail.Close() })
	f.srv = httptest.NewServer(New(a, Options{Dir: dir, Audit: f.trail, Refusals: f.refusals}))
	t.Cleanup(f.srv.Close)
	return f
}

// get requests path with the given header lines ("Name: value"; an
// Authorization of "Basic USER:PASSWORD" is encoded).
func (f *fixture) get(t *testing.T, path string, headers ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("GET", f.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range headers {
		name, value, _ := strings.Cut(h, ": ")
		if user, pw, ok := strings.Cut(strings.TrimPrefix(value, "Basic "), ":"); name == "Authorization" && ok {
			req.SetBasicAuth(user, pw)
			continue
		}
		req.Header.Set(name, value)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// events are the audit trail's lines so far.
func (f *fixture) events() []string {
	f.trail.Flush()
	b, _ := os.ReadFile(f.file)
	if len(b) == 0 {
		return nil
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

var users = config.Admin{Users: map[string]string{"alice": aliceHash}}

// Without credentials, every admin path gets the same 401 with a Basic
// challenge, whether or not the recording exists: a refusal tells nothing.
func TestUnauthenticatedIs401Everywhere(t *testing.T) {
	f := serve(t, users)
	var first string
	for i, path := range []string{"/admin/", "/admin/recordings/", "/admin/recordings/" + recID, "/admin/recordings/" + recID + "/cast",
		"/admin/recordings/20261203-100000-0000000b", "/admin/recordings/20261203-100000-0000000b/cast", "/admin/recordings/..%2f..%2fetc%2fpasswd", "/admin/nothing"} {
		resp, body := f.get(t, path)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", path, resp.StatusCode)
		}
		if got := resp.Header.Get("WWW-Authenticate"); got != `Basic realm="tmate-relay admin", charset="UTF-8"` {
			t.Errorf("%s: WWW-Authenticate %q", path, got)
		}
		if i == 0 {
			first = body
		} else if body != first {
			t.Errorf("%s: body %q differs from %q", path, body, first)
		}
	}
	if n := f.refusals.count(); n != 0 {
		t.Errorf("requests without credentials counted %d failed logins", n)
	}
	if ev := f.events(); len(ev) != 8 || !strings.Contains(ev[0], `"event":"admin_page"`) || !strings.Contains(ev[0], `"why":"no credentials"`) {
		t.Errorf("audit trail:\n%s", strings.Join(ev, "\n"))
	}
}

// A wrong password, or a user not listed, is refused with 401, counted
// for the address's slow-down and audited with the name it tried.
func TestWrongPasswordIsRefusedAndAudited(t *testing.T) {
	f := serve(t, users)
	for _, cred := range []string{"alice:s3cret pas", "alice:", "bob:s3cret pass", "Alice:s3cret pass"} {
		resp, body := f.get(t, "/admin/recordings/"+recID, "Authorization: Basic "+cred)
		if resp.StatusCode != http.StatusUnauthorized || strings.Contains(body, "support-42") {
			t.Errorf("%s: status %d body %q, want 401", cred, resp.StatusCode, body)
		}
	}
	if n := f.refusals.count(); n != 4 || f.refusals.addrs[0] != "127.0.0.1" {
		t.Errorf("failed logins counted for %q, want 4 for 127.0.0.1 (the address, whatever the port)", f.refusals.addrs)
	}
	ev := f.events()
	if len(ev) != 4 {
		t.Fatalf("audit trail:\n%s", strings.Join(ev, "\n"))
	}
	for _, want := range []string{`"event":"admin_page"`, `"action":"play"`, `"recording":"` + recID + `"`, `"user":"alice"`, `"addr":"127.0.0.1"`, `"result":"refused"`, `"why":"wrong user name or password"`} {
		if !strings.Contains(ev[0], want) {
			t.Errorf("event lacks %s: %s", want, ev[0])
		}
	}
	if strings.Contains(strings.Join(ev, "\n"), "s3cret") {
		t.Errorf("a password is in the audit trail:\n%s", strings.Join(ev, "\n"))
	}
}

// The right password lists the recording with its facts, plays it, and
// serves its file (which is audited).
func TestRightPasswordListsAndPlays(t *testing.T) {
	f := serve(t, users)
	auth := "Authorization: Basic alice:s3cret pass"

	resp, _ := f.get(t, "/admin/", auth)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/recordings/" {
		t.Errorf("/admin/: %d to %q, want 303 to /admin/recordings/", resp.StatusCode, resp.Header.Get("Location"))
	}

	resp, body := f.get(t, "/admin/recordings/", auth)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("list: %d %s", resp.StatusCode, body)
	}
	for _, want := range []string{`href="/admin/recordings/` + recID + `"`, "support-42", "192.0.2.1:50000", "2026-12-03 10:00:00 UTC", "2026-12-03 10:01:30 UTC", "<td>2</td>", "KiB"} {
		if !strings.Contains(body, want) {
			t.Errorf("list lacks %q:\n%s", want, body)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || strings.Contains(csp, "http") {
		t.Errorf("Content-Security-Policy %q", csp)
	}

	resp, body = f.get(t, "/admin/recordings/"+recID, auth)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `data-cast="/admin/recordings/`+recID+`/cast"`) ||
		!strings.Contains(body, `src="/assets/vendor/asciinema-player.min.js"`) {
		t.Errorf("player page: %d\n%s", resp.StatusCode, body)
	}

	resp, body = f.get(t, "/admin/recordings/"+recID+"/cast", auth)
	want, _ := os.ReadFile(f.cast)
	if resp.StatusCode != http.StatusOK || body != string(want) {
		t.Errorf("cast: %d, %d bytes, want the file's %d", resp.StatusCode, len(body), len(want))
	}

	for _, path := range []string{"/admin/recordings/20261203-100000-0000000b", "/admin/recordings/20261203-100000-0000000b/cast", "/admin/recordings/..%2frelay.toml/cast"} {
		if resp, _ := f.get(t, path, auth); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", path, resp.StatusCode)
		}
	}
	ev := f.events()
	if len(ev) != 1 || !strings.Contains(ev[0], `"action":"download"`) || !strings.Contains(ev[0], `"user":"alice"`) || !strings.Contains(ev[0], `"result":"ok"`) {
		t.Errorf("audit trail:\n%s", strings.Join(ev, "\n"))
	}
}

// Behind an authenticating proxy the trusted header alone decides:
// Basic credentials do not let a request in, the header does.
func TestTrustedHeader(t *testing.T) {
	f := serve(t, config.Admin{TrustedHeader: "X-Forwarded-User"})
	for _, tc := range []struct {
		name    string
		headers []string
		status  int
	}{
		{"no header", nil, http.StatusUnauthorized},
		{"empty header", []string{"X-Forwarded-User: "}, http.StatusUnauthorized},
		{"basic credentials", []string{"Authorization: Basic alice:s3cret pass"}, http.StatusUnauthorized},
		{"header", []string{"X-Forwarded-User: carol@example.com"}, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := f.get(t, "/admin/recordings/", tc.headers...)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if resp.Header.Get("WWW-Authenticate") != "" {
				t.Errorf("WWW-Authenticate %q behind a proxy", resp.Header.Get("WWW-Authenticate"))
			}
			if tc.status == http.StatusOK && (!strings.Contains(body, "carol@example.com") || !strings.Contains(body, recID)) {
				t.Errorf("list:\n%s", body)
			}
		})
	}
	if n := f.refusals.count(); n != 0 {
		t.Errorf("%d failed logins counted without a password", n)
	}
}

// A file in the directory that is no readable recording is named as
// unreadable; the others are still listed.
func TestListShowsUnreadableFiles(t *testing.T) {
	f := serve(t, users)
	if err := os.WriteFile(filepath.Join(filepath.Dir(f.cast), "20261203-110000-0000000b.cast"), []byte("{}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	resp, body := f.get(t, "/admin/recordings/", "Authorization: Basic alice:s3cret pass")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, recID) || !strings.Contains(body, "1 file(s) in the recordings' directory could not be read") {
		t.Errorf("list: %d\n%s", resp.StatusCode, body)
	}
}

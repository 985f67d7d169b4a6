package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"tmate-relay/service/web/browsertest"
)

// TestBrowserGuest is the SSH guests' scenario over the browser: a real
// tmate host, the relay, and Debian's headless chromium opening the URL the
// host's #{tmate_web} names, through a proxy that can cut connections.
func TestBrowserGuest(t *testing.T) {
	needTools(t, "tmate", "ssh-keygen", "node", "chromium")
	b := browsertest.Start(t, "testdata/browser")
	r := prepareRelay(t, "")
	px := startCutProxy(t, fmt.Sprintf("127.0.0.1:%d", r.webPort))
	public := fmt.Sprintf("http://127.0.0.1:%d", px.port)
	setPublicURL(t, r, public)
	r.launch(relayBin, "serve", "-c", r.conf)
	h := startHost(t, r, 80, 24, "")

	tokenRE := `[abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789]{25}`
	webRW, webRO := h.display("#{tmate_web}"), h.display("#{tmate_web_ro}")
	if !regexp.MustCompile(`^` + regexp.QuoteMeta(public) + `/t/` + tokenRE + `$`).MatchString(webRW) {
		t.Fatalf("tmate_web = %q, want %s/t/TOKEN", webRW, public)
	}
	if !regexp.MustCompile(`^` + regexp.QuoteMeta(public) + `/t/ro-` + tokenRE + `$`).MatchString(webRO) {
		t.Fatalf("tmate_web_ro = %q, want %s/t/ro-TOKEN", webRO, public)
	}
	token := tokenOf(t, h.display("#{tmate_ssh}"))
	if !strings.HasSuffix(webRW, "/t/"+token) {
		t.Fatalf("tmate_web %q and tmate_ssh name different tokens", webRW)
	}

	h.run("send-keys", "echo hello-from-$((6*7))", "Enter")
	if st := b.Open("rw", webRW, 1000, 600); st != 200 {
		t.Fatalf("GET %s: status %d", webRW, st)
	}
	waitScreen(t, b, "rw", "the page shows the host's output", func(s browsertest.Reply) bool { return strings.Contains(s.Text, "hello-from-42") })

	// The page's terminal, fitted to the window, sizes the host's window
	// (one row for the status line), and follows the window.
	sizeFollows := func() {
		s := b.Screen("rw")
		want := fmt.Sprintf("%dx%d", s.Cols, s.Rows-1)
		eventually(t, 10*time.Second, "the host's window is the page's terminal size "+want, func() (bool, string) {
			got := h.display("#{window_width}x#{window_height}")
			return got == want, got
		})
	}
	sizeFollows()
	big := b.Screen("rw")
	b.Resize("rw", 760, 420)
	waitScreen(t, b, "rw", "the terminal fits the smaller window", func(s browsertest.Reply) bool { return s.Cols < big.Cols && s.Rows < big.Rows })
	sizeFollows()

	dir := t.TempDir()
	typed := filepath.Join(dir, "typed")
	b.Type("rw", "echo typed-in-page > "+typed)
	b.Press("rw", "Enter")
	eventually(t, 10*time.Second, "the page's typing ran on the host", func() (bool, string) {
		got, err := os.ReadFile(typed)
		return err == nil && string(got) == "typed-in-page\n", h.capture()
	})
	b.Press("rw", "Control+b")
	b.Press("rw", "c")
	eventually(t, 10*time.Second, "prefix c from the page made a window", func() (bool, string) {
		n := h.display("#{session_windows}")
		return n == "2", n
	})

	// The read-only page shows the session, and nothing typed in it
	// reaches the host: no command, no binding.
	b.Open("ro", webRO, 1000, 600)
	waitScreen(t, b, "ro", "the read-only page shows the prompt", func(s browsertest.Reply) bool { return strings.Contains(s.Text, "$") })
	notTyped := filepath.Join(dir, "not-typed")
	b.Type("ro", "touch "+notTyped)
	b.Press("ro", "Enter")
	b.Press("ro", "Control+b")
	b.Press("ro", "c")
	// The host's own output proves the relay went on serving this page
	// after its keys; by then a forwarded key would have reached the host.
	h.run("send-keys", "echo after-$((6*7))", "Enter")
	waitScreen(t, b, "ro", "the read-only page shows later output", func(s browsertest.Reply) bool { return strings.Contains(s.Text, "after-42") })
	if _, err := os.Stat(notTyped); err == nil {
		t.Fatal("a read-only page's typing ran on the host")
	}
	if n := h.display("#{session_windows}"); n != "2" {
		t.Fatalf("a read-only page's prefix c changed the windows: %s", n)
	}
	b.Screenshot("ro", artifact(t, "web-guest-readonly.png"))

	// A connection cut between browser and relay: the page reconnects by
	// itself, shows the session again and types again.
	before := b.Screen("rw").Connects
	if n := px.cut(false); n == 0 {
		t.Fatal("the proxy had no connection to cut")
	}
	waitScreen(t, b, "rw", "the page reconnects", func(s browsertest.Reply) bool { return s.Connects > before && s.State == "open" })
	h.run("send-keys", "echo back-after-drop", "Enter")
	waitScreen(t, b, "rw", "the reconnected page shows new output", func(s browsertest.Reply) bool { return strings.Contains(s.Text, "back-after-drop") })
	again := filepath.Join(dir, "again")
	b.Type("rw", "echo typed-again > "+again)
	b.Press("rw", "Enter")
	eventually(t, 10*time.Second, "typing after the reconnect ran on the host", func() (bool, string) {
		got, err := os.ReadFile(again)
		return err == nil && string(got) == "typed-again\n", h.capture()
	})
	b.Screenshot("rw", artifact(t, "web-guest.png"))

	// The host leaves: the page says so and stops; its address now gives
	// the same page as a token that never existed.
	h.kill()
	waitScreen(t, b, "rw", "the page says the session ended", func(s browsertest.Reply) bool { return s.State == "ended" })
	if body := b.Body("rw"); !strings.Contains(body.Text, "Reload the page") {
		t.Errorf("the ended page shows %q", body.Text)
	}
	gone := b.Open("gone", webRW, 800, 400)
	never := b.Open("never", public+"/t/neverAtokenB23456789abcdefgh", 800, 400)
	goneBody, neverBody := b.Body("gone"), b.Body("never")
	if gone != 404 || never != 404 || goneBody.Text != neverBody.Text || !strings.Contains(goneBody.Text, "Invalid or expired session token") {
		t.Errorf("an ended session's page (%d):\n%s\na never-existing token's page (%d):\n%s", gone, goneBody.Text, never, neverBody.Text)
	}
	if log := r.log.String(); strings.Contains(log, token) || strings.Contains(log, strings.TrimPrefix(webRO, public+"/t/")) {
		t.Error("the relay logged a session token")
	}
}

// setPublicURL sets [web] public_url in a prepared relay's configuration.
func setPublicURL(t testing.TB, r *relay, url string) {
	t.Helper()
	conf, err := os.ReadFile(r.conf)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(conf), "[web]\n", fmt.Sprintf("[web]\npublic_url = %q\n", url), 1)
	if err := os.WriteFile(r.conf, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// artifact is where a test leaves a file for people to look at: under
// $E2E_ARTIFACTS, or the system's temporary directory.
func artifact(t *testing.T, name string) string {
	dir := os.Getenv("E2E_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "tmate-relay-e2e")
	}
	os.MkdirAll(dir, 0o755)
	p := filepath.Join(dir, name)
	t.Logf("screenshot: %s", p)
	return p
}

// waitScreen polls the page's terminal until cond holds.
func waitScreen(t testing.TB, b *browsertest.Browser, page, what string, cond func(browsertest.Reply) bool) {
	t.Helper()
	eventually(t, 15*time.Second, what, func() (bool, string) {
		s := b.Screen(page)
		return cond(s), fmt.Sprintf("state %s, %d connects, %dx%d:\n%s", s.State, s.Connects, s.Cols, s.Rows, s.Text)
	})
}

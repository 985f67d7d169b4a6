package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestBrowserGuest is the SSH guests' scenario over the browser: a real
// tmate host, the relay, and Debian's headless chromium opening the URL the
// host's #{tmate_web} names, through a proxy that can cut connections.
func TestBrowserGuest(t *testing.T) {
	needTools(t, "tmate", "ssh-keygen", "node", "chromium")
	b := startBrowser(t)
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
	if st := b.open("rw", webRW, 1000, 600); st != 200 {
		t.Fatalf("GET %s: status %d", webRW, st)
	}
	b.waitScreen("rw", "the page shows the host's output", func(s screen) bool { return strings.Contains(s.Text, "hello-from-42") })

	// The page's terminal, fitted to the window, sizes the host's window
	// (one row for the status line), and follows the window.
	sizeFollows := func() {
		s := b.screen("rw")
		want := fmt.Sprintf("%dx%d", s.Cols, s.Rows-1)
		eventually(t, 10*time.Second, "the host's window is the page's terminal size "+want, func() (bool, string) {
			got := h.display("#{window_width}x#{window_height}")
			return got == want, got
		})
	}
	sizeFollows()
	big := b.screen("rw")
	b.call(cmd{Op: "resize", Page: "rw", Width: 760, Height: 420})
	b.waitScreen("rw", "the terminal fits the smaller window", func(s screen) bool { return s.Cols < big.Cols && s.Rows < big.Rows })
	sizeFollows()

	dir := t.TempDir()
	typed := filepath.Join(dir, "typed")
	b.typeText("rw", "echo typed-in-page > "+typed)
	b.press("rw", "Enter")
	eventually(t, 10*time.Second, "the page's typing ran on the host", func() (bool, string) {
		got, err := os.ReadFile(typed)
		return err == nil && string(got) == "typed-in-page\n", h.capture()
	})
	b.press("rw", "Control+b")
	b.press("rw", "c")
	eventually(t, 10*time.Second, "prefix c from the page made a window", func() (bool, string) {
		n := h.display("#{session_windows}")
		return n == "2", n
	})

	// The read-only page shows the session, and nothing typed in it
	// reaches the host: no command, no binding.
	b.open("ro", webRO, 1000, 600)
	b.waitScreen("ro", "the read-only page shows the prompt", func(s screen) bool { return strings.Contains(s.Text, "$") })
	notTyped := filepath.Join(dir, "not-typed")
	b.typeText("ro", "touch "+notTyped)
	b.press("ro", "Enter")
	b.press("ro", "Control+b")
	b.press("ro", "c")
	// The host's own output proves the relay went on serving this page
	// after its keys; by then a forwarded key would have reached the host.
	h.run("send-keys", "echo after-$((6*7))", "Enter")
	b.waitScreen("ro", "the read-only page shows later output", func(s screen) bool { return strings.Contains(s.Text, "after-42") })
	if _, err := os.Stat(notTyped); err == nil {
		t.Fatal("a read-only page's typing ran on the host")
	}
	if n := h.display("#{session_windows}"); n != "2" {
		t.Fatalf("a read-only page's prefix c changed the windows: %s", n)
	}
	b.screenshot("ro", artifact(t, "web-guest-readonly.png"))

	// A connection cut between browser and relay: the page reconnects by
	// itself, shows the session again and types again.
	before := b.screen("rw").Connects
	if n := px.cut(false); n == 0 {
		t.Fatal("the proxy had no connection to cut")
	}
	b.waitScreen("rw", "the page reconnects", func(s screen) bool { return s.Connects > before && s.State == "open" })
	h.run("send-keys", "echo back-after-drop", "Enter")
	b.waitScreen("rw", "the reconnected page shows new output", func(s screen) bool { return strings.Contains(s.Text, "back-after-drop") })
	again := filepath.Join(dir, "again")
	b.typeText("rw", "echo typed-again > "+again)
	b.press("rw", "Enter")
	eventually(t, 10*time.Second, "typing after the reconnect ran on the host", func() (bool, string) {
		got, err := os.ReadFile(again)
		return err == nil && string(got) == "typed-again\n", h.capture()
	})
	b.screenshot("rw", artifact(t, "web-guest.png"))

	// The host leaves: the page says so and stops; its address now gives
	// the same page as a token that never existed.
	h.kill()
	b.waitScreen("rw", "the page says the session ended", func(s screen) bool { return s.State == "ended" })
	if body := b.body("rw"); !strings.Contains(body.Text, "Reload the page") {
		t.Errorf("the ended page shows %q", body.Text)
	}
	gone := b.open("gone", webRW, 800, 400)
	never := b.open("never", public+"/t/neverAtokenB23456789abcdefgh", 800, 400)
	goneBody, neverBody := b.body("gone"), b.body("never")
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

// browser is headless chromium driven by playwright-core
// (testdata/browser/driver.mjs), one JSON command a line.
type browser struct {
	t   testing.TB
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Scanner
	mu  sync.Mutex
}

type cmd struct {
	Op     string `json:"op"`
	Page   string `json:"page,omitempty"`
	URL    string `json:"url,omitempty"`
	Text   string `json:"text,omitempty"`
	Key    string `json:"key,omitempty"`
	Path   string `json:"path,omitempty"`
	Width  int    `json:"width,omitempty"`
	Height int    `json:"height,omitempty"`
}

type screen struct {
	OK       bool   `json:"ok"`
	Error    string `json:"error"`
	Status   int    `json:"status"`
	Text     string `json:"text"`
	State    string `json:"state"`
	Connects int    `json:"connects"`
	Cols     int    `json:"cols"`
	Rows     int    `json:"rows"`
}

func startBrowser(t testing.TB) *browser {
	t.Helper()
	dir, err := filepath.Abs("testdata/browser")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "playwright-core")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("playwright-core is required (make browser-deps installs it): %v", err)
		}
		t.Skip("playwright-core not installed (CI fails here; make browser-deps installs it)")
	}
	c := exec.Command("node", "driver.mjs")
	c.Dir = dir
	c.Stderr = &testLogWriter{t: t}
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // chromium and its helpers stop with it
	in, err := c.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	b := &browser{t: t, cmd: c, in: in, out: bufio.NewScanner(out)}
	b.out.Buffer(make([]byte, 1<<20), 1<<20)
	t.Cleanup(b.stop)
	if r := b.read(30 * time.Second); !r.OK {
		t.Fatalf("browser driver did not start: %s", r.Error)
	}
	return b
}

func (b *browser) stop() {
	b.in.Write([]byte(`{"op":"quit"}` + "\n"))
	b.in.Close()
	done := make(chan struct{})
	go func() { b.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL) // the driver's own process group
		<-done
	}
}

func (b *browser) read(within time.Duration) screen {
	got := make(chan screen, 1)
	go func() {
		var s screen
		if !b.out.Scan() {
			s.Error = fmt.Sprintf("driver exited: %v", b.out.Err())
		} else if err := json.Unmarshal(b.out.Bytes(), &s); err != nil {
			s.Error = fmt.Sprintf("driver said %q: %v", b.out.Text(), err)
		}
		got <- s
	}()
	select {
	case s := <-got:
		return s
	case <-time.After(within):
		syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
		return screen{Error: "driver did not answer in " + within.String()}
	}
}

// call runs one command and fails the test when the driver reports an error.
func (b *browser) call(c cmd) screen {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	line, _ := json.Marshal(c)
	if _, err := b.in.Write(append(line, '\n')); err != nil {
		b.t.Fatalf("browser %s: %v", c.Op, err)
	}
	r := b.read(30 * time.Second)
	if !r.OK {
		b.t.Fatalf("browser %s %s: %s", c.Op, c.Page, r.Error)
	}
	return r
}

func (b *browser) open(page, url string, w, h int) int {
	b.t.Helper()
	return b.call(cmd{Op: "open", Page: page, URL: url, Width: w, Height: h}).Status
}

func (b *browser) screen(page string) screen {
	b.t.Helper()
	return b.call(cmd{Op: "screen", Page: page})
}

func (b *browser) body(page string) screen {
	b.t.Helper()
	return b.call(cmd{Op: "body", Page: page})
}

func (b *browser) typeText(page, text string) {
	b.t.Helper()
	b.call(cmd{Op: "type", Page: page, Text: text})
}

func (b *browser) press(page, key string) {
	b.t.Helper()
	b.call(cmd{Op: "press", Page: page, Key: key})
}

func (b *browser) screenshot(page, path string) {
	b.t.Helper()
	b.call(cmd{Op: "screenshot", Page: page, Path: path})
}

// waitScreen polls the page's terminal until cond holds.
func (b *browser) waitScreen(page, what string, cond func(screen) bool) {
	b.t.Helper()
	eventually(b.t, 15*time.Second, what, func() (bool, string) {
		s := b.screen(page)
		return cond(s), fmt.Sprintf("state %s, %d connects, %dx%d:\n%s", s.State, s.Connects, s.Cols, s.Rows, s.Text)
	})
}

// testLogWriter passes a process's stderr to the test log, line by line.
type testLogWriter struct {
	t   testing.TB
	mu  sync.Mutex
	buf []byte
}

func (w *testLogWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := strings.IndexByte(string(w.buf), '\n')
		if i < 0 {
			return len(p), nil
		}
		w.t.Log(string(w.buf[:i]))
		w.buf = w.buf[i+1:]
	}
}

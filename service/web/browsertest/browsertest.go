// Package browsertest drives headless Chromium for tests through the
// playwright-core driver in service/e2e/testdata/browser (driver.mjs): one
// JSON command a line in, one JSON reply a line out. It imports "testing",
// so only tests may import it.
package browsertest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// timeout bounds the driver's start and each of its answers.
const timeout = 30 * time.Second

// Browser is one running driver and the Chromium it controls.
type Browser struct {
	t   testing.TB
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Scanner
	mu  sync.Mutex // one command in flight: replies are matched by order
}

// Command is one line to the driver; Page names a tab the test opened.
type Command struct {
	Op     string `json:"op"`
	Page   string `json:"page,omitempty"`
	URL    string `json:"url,omitempty"`
	Text   string `json:"text,omitempty"`
	Key    string `json:"key,omitempty"`
	Path   string `json:"path,omitempty"`
	Width  int    `json:"width,omitempty"`
	Height int    `json:"height,omitempty"`
	// Headers go with every request of a page Op "open" opens.
	Headers map[string]string `json:"headers,omitempty"`
}

// Reply is the driver's answer: Status for open, Text for screen (the
// terminal's rows) and body (the page's visible text), and the terminal's
// connection State, Connects count and size for screen.
type Reply struct {
	OK       bool   `json:"ok"`
	Error    string `json:"error"`
	Status   int    `json:"status"`
	Text     string `json:"text"`
	State    string `json:"state"`
	Connects int    `json:"connects"`
	Cols     int    `json:"cols"`
	Rows     int    `json:"rows"`
}

// Start runs the driver in driverDir and waits until Chromium is up; the
// test's cleanup stops both. Without playwright-core (make browser-deps) it
// skips the test, or fails it in CI (CI=true).
func Start(t testing.TB, driverDir string) *Browser {
	t.Helper()
	dir, err := filepath.Abs(driverDir)
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
	c.Stderr = &logWriter{t: t}
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
	b := &Browser{t: t, cmd: c, in: in, out: bufio.NewScanner(out)}
	b.out.Buffer(make([]byte, 1<<20), 1<<20)
	t.Cleanup(b.stop)
	if r := b.read(timeout); !r.OK {
		t.Fatalf("browser driver did not start: %s", r.Error)
	}
	return b
}

// Call runs one command and fails the test when the driver reports an
// error, such as Chromium's net::ERR_UNSAFE_PORT.
func (b *Browser) Call(c Command) Reply {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	line, _ := json.Marshal(c)
	if _, err := b.in.Write(append(line, '\n')); err != nil {
		b.t.Fatalf("browser %s: %v", c.Op, err)
	}
	r := b.read(timeout)
	if !r.OK {
		b.t.Fatalf("browser %s: %s", strings.Join(strings.Fields(c.Op+" "+c.Page+" "+c.URL), " "), r.Error)
	}
	return r
}

// Open loads url in a new tab named page of w×h pixels (0: the driver's
// default) and returns the HTTP status.
func (b *Browser) Open(page, url string, w, h int) int {
	b.t.Helper()
	return b.Call(Command{Op: "open", Page: page, URL: url, Width: w, Height: h}).Status
}

// OpenWithHeaders is Open with headers sent on every request of the page
// (an Authorization, or a proxy's header).
func (b *Browser) OpenWithHeaders(page, url string, w, h int, headers map[string]string) int {
	b.t.Helper()
	return b.Call(Command{Op: "open", Page: page, URL: url, Width: w, Height: h, Headers: headers}).Status
}

// Screen is the page's terminal: its rows, state, connects and size.
func (b *Browser) Screen(page string) Reply {
	b.t.Helper()
	return b.Call(Command{Op: "screen", Page: page})
}

// Body is the page's visible text.
func (b *Browser) Body(page string) Reply {
	b.t.Helper()
	return b.Call(Command{Op: "body", Page: page})
}

// Type types text into the page's terminal.
func (b *Browser) Type(page, text string) {
	b.t.Helper()
	b.Call(Command{Op: "type", Page: page, Text: text})
}

// Press presses one key, by playwright's name ("Enter", "Control+b").
func (b *Browser) Press(page, key string) {
	b.t.Helper()
	b.Call(Command{Op: "press", Page: page, Key: key})
}

// Resize sets the page's window to w×h pixels.
func (b *Browser) Resize(page string, w, h int) {
	b.t.Helper()
	b.Call(Command{Op: "resize", Page: page, Width: w, Height: h})
}

// Screenshot writes a PNG of the page to path.
func (b *Browser) Screenshot(page, path string) {
	b.t.Helper()
	b.Call(Command{Op: "screenshot", Page: page, Path: path})
}

func (b *Browser) read(within time.Duration) Reply {
	got := make(chan Reply, 1)
	go func() {
		var r Reply
		if !b.out.Scan() {
			r.Error = fmt.Sprintf("driver exited: %v", b.out.Err())
		} else if err := json.Unmarshal(b.out.Bytes(), &r); err != nil {
			r.Error = fmt.Sprintf("driver said %q: %v", b.out.Text(), err)
		}
		got <- r
	}()
	select {
	case r := <-got:
		return r
	case <-time.After(within):
		syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL) // the driver's own process group
		return Reply{Error: "driver did not answer in " + within.String()}
	}
}

func (b *Browser) stop() {
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

// logWriter passes the driver's stderr to the test log, line by line.
type logWriter struct {
	t   testing.TB
	mu  sync.Mutex
	buf []byte
}

func (w *logWriter) Write(p []byte) (int, error) {
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

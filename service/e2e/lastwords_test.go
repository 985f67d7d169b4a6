package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// lastWordsTries is how many guests each case ends, each in its own pane.
const lastWordsTries = 20

// TestLastWordsReachThePane: every message a guest gets as the relay ends
// its connection is on the screen of a tmux pane whose command is ssh
// itself and that keeps its dead command's output (remain-on-exit), as a
// user who runs ssh in a fresh tmux pane sees it. tmux scrolls a dead pane
// one line to say "Pane is dead", which hid a message on the first line.
// Each case runs its tries at once, in the windows of one tmux server.
func TestLastWordsReachThePane(t *testing.T) {
	needTools(t, "tmate", "tmux", "ssh", "ssh-keygen")
	// Many refusals and connections from one address, at once: the
	// limits that slow a guesser would only slow the test down.
	limits := "[limits]\ntoken_failures = 1000\nmax_startups = \"100\"\n"
	cases := []struct {
		name string
		want string
		// run starts the guests' panes (join) and ends their connections.
		run func(t *testing.T, join func(r *relay, token string, extra ...string) *panes)
	}{
		{"invalid token", "Invalid or expired session token", func(t *testing.T, join func(*relay, string, ...string) *panes) {
			r := startRelay(t, limits)
			join(r, "abcdefghjkmnpqrstuvwxyzAB")
		}},
		{"host ended the session", "[The host closed the session.]", func(t *testing.T, join func(*relay, string, ...string) *panes) {
			r := startRelay(t, limits)
			h := startHost(t, r, 100, 31, "")
			join(r, tokenOf(t, h.display("#{tmate_ssh}"))).waitAll("$")
			h.run("kill-session")
		}},
		{"relay restarting", "[The relay is restarting", func(t *testing.T, join func(*relay, string, ...string) *panes) {
			r := startRelay(t, limits)
			h := startHost(t, r, 100, 31, "")
			join(r, tokenOf(t, h.display("#{tmate_ssh}"))).waitAll("$")
			r.cmd.Process.Signal(syscall.SIGTERM)
			r.cmd.Wait()
		}},
		{"too many guests", "this session has reached its guest limit", func(t *testing.T, join func(*relay, string, ...string) *panes) {
			r := startRelay(t, limits+"max_guests_per_session = 1\n")
			h := startHost(t, r, 100, 31, "")
			token := tokenOf(t, h.display("#{tmate_ssh}"))
			sshGuest(t, r, token, 100, 32).waitFor("$", 10*time.Second)
			join(r, token)
		}},
		{"refused key", "This session only accepts guests whose SSH keys its host listed", func(t *testing.T, join func(*relay, string, ...string) *panes) {
			r := startRelay(t, limits)
			_, alicePub := newKey(t, "alice")
			malloryKey, _ := newKey(t, "mallory")
			h := spawnHost(t, r, fmt.Sprintf("set -g tmate-authorized-keys %q\n", writeLines(t, "authorized_keys", alicePub)))
			h.waitReady(20 * time.Second)
			join(r, tokenOf(t, h.display("#{tmate_ssh}")), "-i", malloryKey, "-o", "IdentitiesOnly=yes")
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			var p *panes
			tc.run(t, func(r *relay, token string, extra ...string) *panes {
				argv := []string{"ssh", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"}
				argv = append(append(argv, extra...), "-tt", "-p", strconv.Itoa(r.port), token+"@127.0.0.1")
				p = startPanes(t, lastWordsTries, 100, 32, argv...)
				return p
			})
			p.checkLastWords(tc.want, 30*time.Second)
			t.Logf("%d tries in %v", lastWordsTries, time.Since(start).Round(100*time.Millisecond))
		})
	}
}

// panes is a tmux server with n windows, each running argv as its pane's
// command and keeping the pane once argv exits (remain-on-exit).
type panes struct {
	t    testing.TB
	name string
	n    int
}

func startPanes(t testing.TB, n, w, h int, argv ...string) *panes {
	t.Helper()
	p := &panes{t: t, name: fmt.Sprintf("e2e-%d-%d", os.Getpid(), serial.Add(1)), n: n}
	conf := filepath.Join(t.TempDir(), "tmux.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf("set -g remain-on-exit on\nset -g default-size %dx%d\nset -g history-limit 100\n", w, h)), 0o644)
	cmd := strings.Join(quoteAll(argv), " ")
	args := []string{"-L", p.name, "-f", conf, "new-session", "-d", "-x", strconv.Itoa(w), "-y", strconv.Itoa(h), cmd}
	for i := 1; i < n; i++ {
		args = append(args, ";", "new-window", "-d", cmd)
	}
	c := exec.Command("tmux", args...)
	c.Env = append(filterEnv(os.Environ(), "TMUX", "TMATE"), "TERM=screen-256color")
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("tmux: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("tmux", "-L", p.name, "kill-server").Run() })
	return p
}

func (p *panes) tmux(args ...string) string {
	out, _ := exec.Command("tmux", append([]string{"-L", p.name}, args...)...).CombinedOutput()
	return string(out)
}

// screen is what window i's pane shows, without its history.
func (p *panes) screen(i int) string {
	return p.tmux("capture-pane", "-p", "-t", fmt.Sprintf(":%d", i))
}

// waitAll waits until every pane shows want.
func (p *panes) waitAll(want string) {
	p.t.Helper()
	for i := 0; i < p.n; i++ {
		eventually(p.t, 20*time.Second, fmt.Sprintf("pane %d shows %q", i, want), func() (bool, string) {
			s := p.screen(i)
			return strings.Contains(s, want), s
		})
	}
}

// checkLastWords waits until every pane's command exited and counts the
// panes whose screen shows want; all of them must.
func (p *panes) checkLastWords(want string, within time.Duration) {
	p.t.Helper()
	eventually(p.t, within, "every ssh exited", func() (bool, string) {
		dead := p.tmux("list-panes", "-a", "-F", "#{pane_dead}")
		return strings.Count(dead, "1") == p.n, dead
	})
	shown := 0
	var missed []string
	for i := 0; i < p.n; i++ {
		if s := p.screen(i); strings.Contains(s, want) {
			shown++
		} else {
			missed = append(missed, fmt.Sprintf("pane %d:\n%s\nWITH HISTORY:\n%q", i, strings.TrimRight(s, "\n"), p.tmux("capture-pane", "-p", "-e", "-S", "-50", "-t", fmt.Sprintf(":%d", i))))
		}
	}
	if shown != p.n {
		p.t.Errorf("%q shown in %d of %d panes; for example %s", want, shown, p.n, missed[0])
	}
}

// TestBrowserLastWordsOnRestart: a browser guest of a relay that stops
// gets the restart notice as its terminal's last data, then a close with
// the code that tells the page the session ended, and the reason.
func TestBrowserLastWordsOnRestart(t *testing.T) {
	needTools(t, "tmate", "tmux", "ssh", "ssh-keygen")
	r := startRelay(t, "")
	h := startHost(t, r, 80, 24, "")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	url := fmt.Sprintf("ws://127.0.0.1:%d/t/%s/ws?cols=80&rows=25", r.webPort, tokenOf(t, h.display("#{tmate_ssh}")))
	c, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if _, _, err := c.Read(ctx); err != nil { // the first frame: the guest is in
		t.Fatal(err)
	}
	r.cmd.Process.Signal(syscall.SIGTERM)
	var last []byte
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			var ce websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != 4000 || !strings.Contains(ce.Reason, "The relay is restarting") {
				t.Fatalf("the connection ended with %v", err)
			}
			break
		}
		last = data
	}
	if !strings.Contains(string(last), "[The relay is restarting") {
		t.Errorf("last data %q lacks the restart notice", last)
	}
	r.cmd.Wait()
}

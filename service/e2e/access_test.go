package e2e

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// newKey makes an ed25519 key pair in a fresh directory and returns the
// private key's path and the public key's authorized_keys line.
func newKey(t *testing.T, comment string) (path, pub string) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "id_ed25519")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	b, err := os.ReadFile(path + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	return path, strings.TrimSpace(string(b))
}

// writeLines writes lines to a new file and returns its path.
func writeLines(t *testing.T, name string, lines ...string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// spawnHost starts a headless tmate host against r without waiting for it
// to become ready (it may be refused). libssh finds keys through the
// password database, not $HOME, so a key is given with tmate-identity.
func spawnHost(t *testing.T, r *relay, extraConf string) *host {
	t.Helper()
	dir := t.TempDir()
	hs := &host{t: t, dir: dir, sock: filepath.Join(dir, "tmate.sock"), home: filepath.Join(dir, "home")}
	os.MkdirAll(hs.home, 0o700)
	conf := r.tmateRC + "set -g tmate-display-time 1\nset -g display-time 1\nset -g status-interval 0\n" +
		"set -g default-command 'PS1=\"$ \" exec /bin/sh'\n" + extraConf
	confPath := filepath.Join(dir, "tmate.conf")
	os.WriteFile(confPath, []byte(conf), 0o644)
	hs.env = filterEnv(append(os.Environ(), "HOME="+hs.home, "TERM=screen-256color", "SHELL=/bin/sh", "ENV=", "PS1=$ "), "TMUX", "TMATE")
	t.Cleanup(hs.kill)
	hs.run("-f", confPath, "new-session", "-d", "-x", "80", "-y", "24")
	// An attached client keeps the messages show-messages reads.
	startTerm(t, 80, 24, nil, "env", "-u", "TMUX", "HOME="+hs.home, "tmate", "-S", hs.sock, "attach")
	return hs
}

// messages is the host's message log (tmate's own and the relay's NOTIFYs).
func (h *host) messages() string {
	out, _ := h.output("show-messages")
	return out
}

// waitMessage waits until the host's message log holds want.
func (h *host) waitMessage(want string, within time.Duration) {
	h.t.Helper()
	eventually(h.t, within, fmt.Sprintf("host shows %q", want), func() (bool, string) {
		m := h.messages()
		return strings.Contains(m, want), m
	})
}

// sshGuestWith joins as a guest with extra ssh options (e.g. -i KEY).
func sshGuestWith(t *testing.T, r *relay, token string, extra ...string) *term {
	args := []string{"sh", "-c", `ssh "$@"; echo "` + sshExited + `"; exec sleep 600`, "ssh",
		"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
		"-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-F", "/dev/null"}
	args = append(args, extra...)
	args = append(args, "-tt", "-p", strconv.Itoa(r.port), token+"@127.0.0.1")
	return startTerm(t, 80, 25, []string{"TERM=screen-256color"}, args...)
}

// Point 1: with [hosts] authorized_keys set, an unlisted host is refused
// with a message its user reads, and is let in as soon as its key is added
// to the file (re-read without a restart).
func TestHostsAuthorizedKeys(t *testing.T) {
	needTools(t, "tmate", "tmux", "ssh", "ssh-keygen")
	listedKey, listedPub := newKey(t, "listed")
	keysFile := writeLines(t, "hosts_keys", "# hosts allowed on this relay", listedPub)
	r := startRelay(t, fmt.Sprintf("[hosts]\nauthorized_keys = %q\n", keysFile))

	// A listed key hosts as before.
	ok := spawnHost(t, r, fmt.Sprintf("set -g tmate-identity %q\n", listedKey))
	ok.waitReady(20 * time.Second)
	g := sshGuest(t, r, tokenOf(t, ok.display("#{tmate_ssh}")), 80, 25)
	ok.run("send-keys", "echo listed-$((6*7))", "Enter")
	g.waitFor("listed-42", 10*time.Second)

	// An unlisted key is refused, and told why.
	otherKey, otherPub := newKey(t, "other")
	bad := spawnHost(t, r, fmt.Sprintf("set -g tmate-identity %q\n", otherKey))
	bad.waitMessage("This relay only accepts hosts whose SSH key its administrator listed", 20*time.Second)
	if s := bad.display("#{tmate_ssh}"); s != "" {
		t.Fatalf("an unlisted host got a session: %q", s)
	}
	if !strings.Contains(r.log.String(), "host refused: no key listed in [hosts] authorized_keys") {
		t.Errorf("the refusal is not logged:\n%s", r.log.String())
	}

	// No key at all: refused too (tmate says it found no key).
	none := spawnHost(t, r, "set -g tmate-identity /nonexistent/key\n")
	none.waitMessage("SSH keys not found", 20*time.Second)

	// The administrator adds the key: tmate's next reconnection succeeds.
	f, err := os.OpenFile(keysFile, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(f, otherPub)
	f.Close()
	eventually(t, 20*time.Second, "the newly listed host gets a session", func() (bool, string) {
		out, _ := bad.output("display", "-p", "#{tmate_ssh}")
		return strings.Contains(out, "@127.0.0.1"), bad.messages()
	})
}

// Point 2: a host's tmate-authorized-keys restricts its guests to those
// keys; browsers are refused with a page that says why.
func TestGuestAuthorizedKeys(t *testing.T) {
	needTools(t, "tmate", "tmux", "ssh", "ssh-keygen")
	r := startRelay(t, "")
	aliceKey, alicePub := newKey(t, "alice")
	malloryKey, _ := newKey(t, "mallory")
	guestKeys := writeLines(t, "authorized_keys", alicePub)
	h := spawnHost(t, r, fmt.Sprintf("set -g tmate-authorized-keys %q\n", guestKeys))
	h.waitReady(20 * time.Second)
	token := tokenOf(t, h.display("#{tmate_ssh}"))
	roToken := tokenOf(t, h.display("#{tmate_ssh_ro}"))

	alice := sshGuestWith(t, r, token, "-i", aliceKey)
	aliceRO := sshGuestWith(t, r, roToken, "-i", aliceKey)
	mallory := sshGuestWith(t, r, token, "-i", malloryKey)
	nokey := sshGuestWith(t, r, token, "-o", "PubkeyAuthentication=no")
	h.run("send-keys", "echo restricted-$((6*7))", "Enter")
	alice.waitFor("restricted-42", 10*time.Second)
	aliceRO.waitFor("restricted-42", 10*time.Second)
	for name, g := range map[string]*term{"unlisted key": mallory, "no key": nokey} {
		eventually(t, 10*time.Second, name+": ssh refused", func() (bool, string) {
			s := g.screen()
			return strings.Contains(s, sshExited) && strings.Contains(s, "Permission denied"), s
		})
		if s := g.screen(); strings.Contains(s, "restricted-42") {
			t.Errorf("%s saw the session:\n%s", name, s)
		}
	}
	if !strings.Contains(r.log.String(), "guest refused: no key listed by the session's host") {
		t.Errorf("the guest refusal is not logged:\n%s", r.log.String())
	}

	// A browser presents no key: its page says why it may not join.
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/t/%s", r.webPort, token))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "only accepts guests with SSH keys") {
		t.Errorf("browser page of a restricted session: %d\n%s", resp.StatusCode, body)
	}
}

// Point 2: [web] allow_restricted_sessions lets browsers into such sessions.
func TestGuestAuthorizedKeysWebAllowed(t *testing.T) {
	needTools(t, "tmate", "tmux", "ssh", "ssh-keygen")
	r := prepareRelay(t, "")
	conf, _ := os.ReadFile(r.conf)
	os.WriteFile(r.conf, []byte(strings.Replace(string(conf), "[web]\n", "[web]\nallow_restricted_sessions = true\n", 1)), 0o644)
	r.launch(relayBin, "serve", "-c", r.conf)
	_, pub := newKey(t, "alice")
	h := spawnHost(t, r, fmt.Sprintf("set -g tmate-authorized-keys %q\n", writeLines(t, "ak", pub)))
	h.waitReady(20 * time.Second)
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/t/%s", r.webPort, tokenOf(t, h.display("#{tmate_ssh}"))))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("browser page with allow_restricted_sessions: %d", resp.StatusCode)
	}
}

// Point 2: [guests] require_authorized_keys refuses hosts that set none,
// telling them how to fix it, and takes hosts that do.
func TestRequireGuestAuthorizedKeys(t *testing.T) {
	needTools(t, "tmate", "tmux", "ssh", "ssh-keygen")
	r := startRelay(t, "[guests]\nrequire_authorized_keys = true\n")
	open := spawnHost(t, r, "")
	open.waitMessage("set tmate-authorized-keys", 20*time.Second)
	if s, _ := open.output("display", "-p", "#{tmate_ssh}"); strings.Contains(s, "@") {
		t.Errorf("a host without guest keys got a session: %q", s)
	}
	_, pub := newKey(t, "alice")
	h := spawnHost(t, r, fmt.Sprintf("set -g tmate-authorized-keys %q\n", writeLines(t, "ak", pub)))
	h.waitReady(20 * time.Second)
}

// Point 3: named sessions get stable tokens; a name in use is refused.
func TestNamedSessions(t *testing.T) {
	needTools(t, "tmate", "tmux", "ssh", "ssh-keygen")
	r := startRelay(t, "")
	names := "set -g tmate-session-name team-alpha\nset -g tmate-session-name-ro team-alpha-view\n"
	h := spawnHost(t, r, names)
	h.waitReady(20 * time.Second)
	if got, want := h.display("#{tmate_ssh}"), fmt.Sprintf("ssh -p%d team-alpha@127.0.0.1", r.port); got != want {
		t.Errorf("tmate_ssh = %q, want %q", got, want)
	}
	if got, want := h.display("#{tmate_ssh_ro}"), fmt.Sprintf("ssh -p%d team-alpha-view@127.0.0.1", r.port); got != want {
		t.Errorf("tmate_ssh_ro = %q, want %q", got, want)
	}
	g := sshGuest(t, r, "team-alpha", 80, 25)
	ro := sshGuest(t, r, "team-alpha-view", 80, 25)
	h.run("send-keys", "echo named-$((6*7))", "Enter")
	g.waitFor("named-42", 10*time.Second)
	ro.waitFor("named-42", 10*time.Second)

	// A second host asking for the same name is refused.
	dup := spawnHost(t, r, "set -g tmate-session-name team-alpha\n")
	dup.waitMessage("the tmate-session-name is in use", 20*time.Second)

	// Invalid names are refused with the rule.
	for _, bad := range []string{"two--dashes", "-lead", strings.Repeat("x", 51), "sp ace"} {
		b := spawnHost(t, r, fmt.Sprintf("set -g tmate-session-name %q\n", bad))
		b.waitMessage("use 1 to 50 letters, digits and single dashes", 20*time.Second)
	}
	same := spawnHost(t, r, "set -g tmate-session-name same\nset -g tmate-session-name-ro same\n")
	same.waitMessage("tmate-session-name-ro must differ", 20*time.Second)

	// The first session still works under its name.
	h.run("send-keys", "echo still-$((6*7))", "Enter")
	g.waitFor("still-42", 10*time.Second)
}

// Point 3: [sessions] api_keys restrict naming to hosts with a listed key.
func TestNamedSessionsAPIKeys(t *testing.T) {
	needTools(t, "tmate", "tmux", "ssh", "ssh-keygen")
	r := startRelay(t, "[sessions]\napi_keys = [\"tmk-good\"]\n")
	nokey := spawnHost(t, r, "set -g tmate-session-name beta\n")
	nokey.waitMessage("named sessions need an API key", 20*time.Second)
	wrong := spawnHost(t, r, "set -g tmate-session-name beta\nset -g tmate-api-key tmk-bad\n")
	wrong.waitMessage("tmate-api-key is not valid", 20*time.Second)
	good := spawnHost(t, r, "set -g tmate-session-name beta\nset -g tmate-api-key tmk-good\n")
	good.waitReady(20 * time.Second)
	g := sshGuest(t, r, "beta", 80, 25)
	good.run("send-keys", "echo beta-$((6*7))", "Enter")
	g.waitFor("beta-42", 10*time.Second)
	// Unnamed sessions need no key.
	spawnHost(t, r, "").waitReady(20 * time.Second)
	if strings.Contains(r.log.String(), "tmk-") {
		t.Errorf("an API key reached the log")
	}
}

// tryToken presents token as a guest from the local address src and
// reports whether the relay answered it (true) or refused the connection
// before looking at it (false).
func tryToken(port int, src, token string) bool {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	nc, err := d.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return false
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	cc, chans, reqs, err := ssh.NewClientConn(nc, "relay", &ssh.ClientConfig{User: token, HostKeyCallback: ssh.InsecureIgnoreHostKey()})
	if err != nil {
		return false
	}
	c := ssh.NewClient(cc, chans, reqs)
	defer c.Close()
	s, err := c.NewSession()
	if err != nil {
		return false
	}
	out, _ := s.StdoutPipe()
	if s.Shell() != nil {
		return false
	}
	b, _ := io.ReadAll(out)
	return strings.Contains(string(b), "Invalid or expired session token")
}

// Point 4: 200 wrong tokens from one address are slowed down (and the
// address may hold only a few connections), while a real guest from
// another address is served meanwhile; no token reaches the log.
func TestTokenBruteForceIsSlowed(t *testing.T) {
	needTools(t, "tmate", "tmux", "ssh", "ssh-keygen")
	// Four connections from an address may be unauthenticated at once,
	// four more wait for a place, the next are refused at once: twelve
	// workers held by the slowed answers always meet the refusal.
	r := startRelay(t, "[limits]\ntoken_failures = 5\ntoken_failure_window = \"1m\"\nmax_startups = \"4:100:8\"\n")
	h := startHost(t, r, 80, 24, "")
	token := tokenOf(t, h.display("#{tmate_ssh}"))

	const attempts, workers = 200, 12
	var answered, refused, next atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > attempts {
					return
				}
				select {
				case <-stop:
					return
				default:
				}
				if tryToken(r.port, "127.0.0.2", fmt.Sprintf("wrongtok%04dxxxxxxxxxxxxxx", i)) {
					answered.Add(1)
				} else {
					refused.Add(1)
					time.Sleep(20 * time.Millisecond)
				}
			}
		}()
	}

	// Meanwhile a real guest (from 127.0.0.1) joins and is served.
	time.Sleep(2 * time.Second)
	g := sshGuest(t, r, token, 80, 25)
	h.run("send-keys", "echo served-$((6*7))", "Enter")
	g.waitFor("served-42", 10*time.Second)

	// Give the attacker 15 s in all: unthrottled, 12 workers get through
	// 200 guesses in a few seconds.
	time.Sleep(time.Until(start.Add(15 * time.Second)))
	close(stop)
	wg.Wait()
	t.Logf("in %v: %d guesses answered, %d connections refused", time.Since(start).Round(time.Millisecond), answered.Load(), refused.Load())
	if a := answered.Load(); a >= 60 {
		t.Errorf("%d wrong tokens answered in 15 s: guessing is not slowed", a)
	}
	if refused.Load() == 0 {
		t.Errorf("no connection from the guessing address was refused")
	}
	log := r.log.String()
	if !strings.Contains(log, "guest refused: invalid or expired token") || !strings.Contains(log, `addr=127.0.0.2`) {
		t.Errorf("refusals are not logged with the address")
	}
	if !strings.Contains(log, "too many unauthenticated connections from this address") {
		t.Errorf("the connection cap's refusals are not logged")
	}
	if strings.Contains(log, "wrongtok") || strings.Contains(log, token) {
		t.Errorf("a token reached the log")
	}
	// The real guest is still served.
	h.run("send-keys", "echo after-$((6*7))", "Enter")
	g.waitFor("after-42", 10*time.Second)
}

// Point 4: a guest's input is paced to [limits] guest_input_rate, and none
// of it is lost.
func TestGuestInputRate(t *testing.T) {
	needTools(t, "tmate", "tmux", "ssh", "ssh-keygen")
	r := startRelay(t, "[limits]\nguest_input_rate = 100\n")
	h := startHost(t, r, 120, 24, "")
	g := sshGuest(t, r, tokenOf(t, h.display("#{tmate_ssh}")), 120, 25)
	g.waitFor("$", 10*time.Second)
	marker := filepath.Join(t.TempDir(), "typed")
	payload := strings.Repeat("0123456789", 30)
	line := "echo " + payload + " > " + marker // ~370 bytes: ~3 s at 100 B/s after a 100-byte burst
	sent := time.Now()
	g.send(line)
	g.key("Enter")
	time.Sleep(time.Until(sent.Add(time.Second)))
	if _, err := os.Stat(marker); err == nil {
		t.Fatalf("%d bytes of input arrived within 1 s at 100 bytes/s", len(line))
	}
	eventually(t, 20*time.Second, "all of the paced input arrived", func() (bool, string) {
		b, err := os.ReadFile(marker)
		return err == nil && string(b) == payload+"\n", h.capture()
	})
	if d := time.Since(sent); d < 2*time.Second {
		t.Errorf("input arrived after %v, faster than the rate allows", d)
	}
}

// Point 6: [limits] max_guests_per_session refuses one guest too many with
// a message it reads, and the guests already in keep working.
func TestMaxGuestsPerSession(t *testing.T) {
	needTools(t, "tmate", "tmux", "ssh", "ssh-keygen")
	r := startRelay(t, "[limits]\nmax_guests_per_session = 1\n")
	h := startHost(t, r, 80, 24, "")
	token := tokenOf(t, h.display("#{tmate_ssh}"))
	first := sshGuest(t, r, token, 80, 25)
	h.run("send-keys", "echo first-$((6*7))", "Enter")
	first.waitFor("first-42", 10*time.Second)

	second := sshGuest(t, r, token, 80, 25)
	second.waitFor(sshExited, 10*time.Second)
	if s := second.screen(); !strings.Contains(s, "guest limit") {
		t.Fatalf("the refused guest read:\n%s", s)
	}
	if log := r.log.String(); !strings.Contains(log, "guest refused") || !strings.Contains(log, "guest limit") {
		t.Errorf("the refusal is not logged:\n%s", log)
	}
	first.send("echo still-$((7*7))")
	first.key("Enter")
	first.waitFor("still-49", 10*time.Second)
}

// Point 6: [limits] max_sessions refuses one host too many with a NOTIFY
// its user reads, and the session already open keeps working.
func TestMaxSessions(t *testing.T) {
	needTools(t, "tmate", "tmux", "ssh", "ssh-keygen")
	r := startRelay(t, "[limits]\nmax_sessions = 1\n")
	h := startHost(t, r, 80, 24, "")
	g := sshGuest(t, r, tokenOf(t, h.display("#{tmate_ssh}")), 80, 25)

	over := spawnHost(t, r, "")
	over.waitMessage("session limit", 20*time.Second)
	if s := over.display("#{tmate_ssh}"); s != "" {
		t.Fatalf("a host over the cap got a session: %q", s)
	}
	if log := r.log.String(); !strings.Contains(log, "host refused") || !strings.Contains(log, "session limit") {
		t.Errorf("the refusal is not logged:\n%s", log)
	}
	h.run("send-keys", "echo first-$((6*7))", "Enter")
	g.waitFor("first-42", 10*time.Second)
}

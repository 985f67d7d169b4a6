package loadtest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/crypto/ssh"

	"tmate-relay/service/vt"
)

// Guests' terminal size: an 80x24 pane and the status line.
const guestW, guestH = 80, 25

// screen is what a guest sees: the relay's frames go through the relay's
// own emulator, and each marker line of its session is timed the first
// time it shows.
type screen struct {
	h      *host
	kind   string // "ssh" or "web"
	onLat  func(sent time.Time, d time.Duration)
	onErr  func(error)
	mu     sync.Mutex
	emu    *vt.Emulator
	bytes  int64
	joined time.Time // when the session first showed; zero before
	seen   map[int]bool
	wrong  bool // showed another session's line
	change chan struct{}
}

// guestTerminal models a guest's own terminal: the relay's emulator, with
// the scroll commands (SU, SD) that a terminal has and tmate 2.4 lacks,
// since the relay scrolls a guest's screen with them.
func guestTerminal() *vt.Emulator {
	e := vt.New(guestW, guestH, 0)
	e.EnableScrollCommands()
	return e
}

func newScreen(h *host, kind string, onLat func(time.Time, time.Duration), onErr func(error)) *screen {
	return &screen{h: h, kind: kind, onLat: onLat, onErr: onErr, emu: guestTerminal(),
		seen: map[int]bool{}, change: make(chan struct{}, 1)}
}

// feed takes what the relay sent.
func (s *screen) feed(b []byte) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bytes += int64(len(b))
	s.emu.Write(b)
	for y := range guestH {
		line := s.emu.Line(y)
		if len(line) < 5 || line[0].Rune != 'l' {
			continue
		}
		session, kind, seq, ok := parseLine(rowText(line))
		if !ok {
			continue
		}
		if session != s.h.id {
			if !s.wrong {
				s.wrong = true
				s.onErr(fmt.Errorf("%s guest of session %d shows session %d's output", s.kind, s.h.id, session))
			}
			continue
		}
		if s.joined.IsZero() {
			s.joined = now
		}
		if kind != "mark" || s.seen[seq] {
			continue
		}
		s.seen[seq] = true
		if at, ok := s.h.markerSent(seq); ok && at.After(s.joined) {
			s.onLat(at, now.Sub(at))
		}
	}
	select {
	case s.change <- struct{}{}:
	default:
	}
}

func rowText(cells []vt.Cell) string {
	var b strings.Builder
	for _, c := range cells {
		if c.Rune == 0 {
			b.WriteByte(' ')
		} else if c.Width != 0 {
			b.WriteString(c.String())
		}
	}
	return strings.TrimRight(b.String(), " ")
}

// parseLine reads "load SESSION ready" and "load SESSION mark SEQ".
func parseLine(s string) (session int, kind string, seq int, ok bool) {
	f := strings.Fields(s)
	if len(f) < 3 || f[0] != "load" {
		return 0, "", 0, false
	}
	session, err := strconv.Atoi(f[1])
	if err != nil {
		return 0, "", 0, false
	}
	switch {
	case len(f) == 3 && f[2] == "ready":
		return session, "ready", 0, true
	case len(f) == 4 && f[2] == "mark":
		seq, err := strconv.Atoi(f[3])
		return session, "mark", seq, err == nil
	}
	return 0, "", 0, false
}

// waitJoined waits until the screen shows the session, while the
// connection lasts (done).
func (s *screen) waitJoined(ctx context.Context, done <-chan struct{}) error {
	for {
		s.mu.Lock()
		j := !s.joined.IsZero()
		s.mu.Unlock()
		if j {
			return nil
		}
		select {
		case <-s.change:
		case <-done:
			return fmt.Errorf("%s guest of session %d: the relay closed the connection before the session showed", s.kind, s.h.id)
		case <-ctx.Done():
			return fmt.Errorf("%s guest of session %d: the session did not show: %w", s.kind, s.h.id, ctx.Err())
		}
	}
}

// waitSeen waits until the screen has shown marker seq.
func (s *screen) waitSeen(ctx context.Context, seq int) bool {
	for {
		s.mu.Lock()
		ok := s.seen[seq]
		s.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-s.change:
		case <-ctx.Done():
			return false
		}
	}
}

// missed lists the markers written since the guest joined that it never
// showed.
func (s *screen) missed() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []int
	if s.joined.IsZero() {
		return nil
	}
	for seq, at := range s.h.markers() {
		if at.After(s.joined) && !s.seen[seq] {
			out = append(out, seq)
		}
	}
	return out
}

func (s *screen) received() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bytes
}

// rejoin starts a guest's screen again (after the relay restarted).
func (s *screen) rejoin() {
	s.mu.Lock()
	s.emu = guestTerminal()
	s.joined = time.Time{}
	s.seen = map[int]bool{}
	s.mu.Unlock()
}

// guestConn is a guest's connection: its screen fed until done closes.
type guestConn struct {
	close func()
	done  chan struct{}
}

// dialSSHGuest joins as `ssh TOKEN@relay` does, on a pty of guestW x guestH.
func dialSSHGuest(ctx context.Context, addr string, local net.IP, token string, s *screen) (*guestConn, error) {
	nc, err := dialTCP(ctx, local, addr)
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	defer stop()
	c, chans, reqs, err := ssh.NewClientConn(nc, addr, &ssh.ClientConfig{
		User:            token,
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), // a load test of a relay we started
	})
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("ssh guest: %w", err)
	}
	client := ssh.NewClient(c, chans, reqs)
	sess, err := client.NewSession()
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("ssh guest session: %w", err)
	}
	out, err := sess.StdoutPipe()
	if err == nil {
		// An open stdin: without one the session sends EOF at once, which
		// the relay takes for the guest leaving.
		_, err = sess.StdinPipe()
	}
	if err == nil {
		err = sess.RequestPty("xterm-256color", guestH, guestW, ssh.TerminalModes{})
	}
	if err == nil {
		err = sess.Shell()
	}
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("ssh guest pty/shell: %w", err)
	}
	g := &guestConn{close: func() { client.Close() }, done: make(chan struct{})}
	go func() {
		defer close(g.done)
		buf := make([]byte, 32<<10)
		for {
			n, err := out.Read(buf)
			if n > 0 {
				s.feed(buf[:n])
			}
			if err != nil {
				return
			}
		}
	}()
	return g, nil
}

// dialWebGuest joins as the browser page does: the WebSocket at
// /t/TOKEN/ws with its size in the query.
func dialWebGuest(ctx context.Context, webBase string, local net.IP, token string, s *screen) (*guestConn, error) {
	u, err := url.Parse(strings.TrimRight(webBase, "/") + "/t/" + token + "/ws?cols=" + strconv.Itoa(guestW) + "&rows=" + strconv.Itoa(guestH))
	if err != nil {
		return nil, err
	}
	switch u.Scheme {
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	}
	tr := &http.Transport{DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) { return dialTCP(ctx, local, addr) }}
	c, _, err := websocket.Dial(ctx, u.String(), &websocket.DialOptions{HTTPClient: &http.Client{Transport: tr}})
	if err != nil {
		return nil, fmt.Errorf("web guest: %w", err)
	}
	c.SetReadLimit(-1)
	rctx, cancel := context.WithCancel(context.Background())
	g := &guestConn{close: func() { cancel(); c.CloseNow() }, done: make(chan struct{})}
	go func() {
		defer close(g.done)
		for {
			typ, data, err := c.Read(rctx)
			if err != nil {
				return
			}
			if typ == websocket.MessageBinary {
				s.feed(data)
			}
		}
	}()
	return g, nil
}

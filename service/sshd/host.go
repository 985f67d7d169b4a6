package sshd

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"

	"tmate-relay/service/audit"
	"tmate-relay/service/internal/ratelimit"
	"tmate-relay/service/metrics"
	"tmate-relay/service/peertext"
	"tmate-relay/service/protocol"
	"tmate-relay/service/session"
)

// host serves a tmate host: it waits for the `tmate` subsystem, then reads
// the host's stream into a new session, or the one it reconnects to, until
// the host leaves.
func (c *conn) host() {
	log := c.srv.cfg.Log.With("addr", c.addr, "role", "host")
	var sess *session.Session // once the host has one
	defer func() {
		// A panic in this host's reader ends its session only.
		if r := recover(); r != nil {
			if sess == nil {
				logConnectionPanic(log, r)
				return
			}
			sess.Crash("host reader", r)
		}
	}()
	if !c.waitSubsystem() {
		log.Info("host connection without the tmate subsystem")
		return
	}
	enc := newHostSender(c.stallGuard(log), c.sc)
	counted := &sessionBytes{r: c.srv.cfg.Metrics.HostReader(c.hostOutput())}
	in := bufio.NewReaderSize(counted, 32<<10)
	dec := protocol.NewDecoder(in, c.srv.cfg.Limits)
	startup := c.startupDeadline(enc, log)
	defer startup.timer.Stop()

	first, err := dec.Next()
	if err != nil {
		log.Info("host stream failed before its header", "err", err)
		return
	}
	hdr, ok := first.(*protocol.Header)
	if !ok {
		log.Info("host stream does not start with a header", "type", first.Type())
		return
	}
	client := peertext.Cut(hdr.ClientVersion, peertext.Short) // the host chose it, of any length
	if notice := protocol.UnsupportedVersionNotice(hdr.ProtocolVersion, client); notice != "" {
		enc.SetClientProtocol(hdr.ProtocolVersion)
		enc.Notify(notice)
		log.Info("host refused: unsupported protocol", "protocol", hdr.ProtocolVersion, "client", client)
		c.lingerThenClose()
		return
	}

	reg := c.srv.cfg.Registry
	sess = session.New(c.srv.cfg.Session, enc)
	addErr := reg.Add(sess)
	gen := sess.TakeHost(enc, c.keyFingerprint(), c.hangUp)
	stream := &hostStream{dec: dec, onReady: startup.ready}
	fresh := sess
	sess, gen, err = c.resume(fresh, gen, addErr, stream, enc, log)
	if err == nil && sess == fresh {
		log.Info("session started", "session", sess.ID(), "client", client, "sessions", reg.Len())
	}
	if err != nil {
		if errors.Is(err, session.ErrTooManySessions) {
			c.srv.refuse(metrics.Limits, audit.Event{HostAddr: c.addr, HostKey: c.keyFingerprint(), Why: err.Error()})
		}
		enc.Notify("Relay: " + err.Error())
		log.Warn("host refused", "err", err)
		c.lingerThenClose()
		return
	}
	sess.SetHostAddr(c.addr)
	counted.count(sess)
	if sess == fresh {
		sess.Record(audit.SessionStart)
	} else {
		sess.Record(audit.HostReconnect)
	}
	log = log.With("session", sess.ID())
	if rc := reg.Reconnector(); rc != nil {
		stop := make(chan struct{})
		defer close(stop)
		go refreshReconnectionData(sess, rc.RefreshEvery(), stop)
	}

	end := c.readHost(sess, stream, in)
	if end.crashed {
		return // Crash ended the session
	}
	reason, failed, lost := end.reason, end.failed, end.lost
	if sess.HostGen() != gen {
		return // a reconnection of this host took this connection's place
	}
	if startup.expired.Load() {
		reason, lost = "The host did not finish starting its session.", false
	}
	if lost && reg.HostLost(sess, gen) {
		log.Info("host lost its connection: waiting for it to reconnect", "window", reg.Reconnector().Window)
		return
	}
	if failed {
		enc.Notify(reason) // the tmate user sees why the relay hung up
	}
	sess.End(reason)
	reg.Remove(sess)
	log.Info("session ended", "why", reason)
}

// hostOutput is the host's channel as the session reads it: paced to
// HostOutputRate, so that one host's flood costs the relay a bounded share
// of its CPU. Reading slower closes the channel's window: tmate waits, and
// nothing is lost.
func (c *conn) hostOutput() io.Reader {
	rate := c.srv.cfg.HostOutputRate
	if rate <= 0 {
		return c.ch
	}
	burst := c.srv.cfg.HostOutputBurst
	if burst <= 0 {
		burst = rate
	}
	// Steps of 10 ms of output: a wake-up per byte would cost more than
	// the output.
	return &ratelimit.Reader{R: c.ch, Rate: rate, Burst: burst, Step: max(rate/100, 1)}
}

// stallGuard is the host's channel as the session writes to it: a write
// (guests' keys and commands, notices) that the host has not taken within
// HostWriteTimeout closes the host's connection, which fails it and every
// write waiting behind it. The host's tmate, if alive, reconnects. Every
// write has its own deadline; the timers are kept for the next writes, as
// a new timer per keystroke would cost each key allocations.
func (c *conn) stallGuard(log *slog.Logger) io.Writer {
	timeout := c.srv.cfg.HostWriteTimeout
	var closed sync.Once // writes waiting together fail together, logged once
	stalled := func() {
		closed.Do(func() {
			log.Info("host closed: it read nothing the relay sent it", "within", timeout)
			c.sc.Close()
		})
	}
	timers := sync.Pool{New: func() any {
		t := time.AfterFunc(time.Hour, stalled)
		t.Stop()
		return t
	}}
	return writerFunc(func(b []byte) (int, error) {
		t := timers.Get().(*time.Timer)
		t.Reset(timeout)
		n, err := c.ch.Write(b)
		if t.Stop() {
			timers.Put(t)
		}
		return n, err
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

// resume reads the message after the host's header: when it is RECONNECT
// with valid data, the host gets its session back (see Registry.Resume) in
// place of fresh, the new session made for it (whose connection is
// freshGen, and whose registration failed with addErr, e.g. at the
// session limit, which a session taken back does not count against).
// Anything else is left for the session's reader, and the host keeps
// fresh. An error refuses the host.
func (c *conn) resume(fresh *session.Session, freshGen uint64, addErr error, stream *hostStream, enc *hostSender, log *slog.Logger) (*session.Session, uint64, error) {
	reg := c.srv.cfg.Registry
	if addErr != nil && reg.Reconnector() == nil {
		return fresh, freshGen, addErr // no need to wait for what follows
	}
	m, err := stream.Next()
	rc, ok := m.(*protocol.Reconnect)
	if !ok {
		stream.pending, stream.err = m, err
		return fresh, freshGen, addErr
	}
	if addErr == nil {
		reg.Remove(fresh) // not announced yet: nobody knows its tokens
	}
	sess, gen, err := reg.Resume(rc.Data, c.keyFingerprint(), c.srv.cfg.Session, enc, c.hangUp)
	if err != nil {
		// As the original does, the host starts afresh with new tokens.
		log.Info("host reconnection refused: it gets a new session", "why", err)
		if errors.Is(err, session.ErrKicked) {
			enc.Notify("Relay: " + err.Error() + ": this is a new session, with new addresses.")
		}
		return fresh, freshGen, reg.Add(fresh)
	}
	fresh.End("replaced by the host's reconnected session")
	log.Info("host reconnected", "sessions", reg.Len())
	c.srv.cfg.Metrics.HostReconnected()
	return sess, gen, nil
}

// keyFingerprint is the fingerprint of the key the host or guest
// authenticated with, "" when it used none, or when another node of the
// cluster authenticated it (a forwarded guest: no connection here).
func (c *conn) keyFingerprint() string {
	if c.forwarded {
		if k, err := ssh.ParsePublicKey(c.forwardedKey); err == nil {
			return ssh.FingerprintSHA256(k)
		}
		return ""
	}
	if c.sc == nil || c.sc.Permissions == nil {
		return ""
	}
	return c.sc.Permissions.Extensions["key"]
}

// publicKey is the public key (wire format) the client authenticated
// with, nil when it used none.
func (c *conn) publicKey() []byte {
	if c.forwarded {
		return c.forwardedKey
	}
	if c.sc == nil || c.sc.Permissions == nil || c.sc.Permissions.Extensions[publicKeyExtension] == "" {
		return nil
	}
	return []byte(c.sc.Permissions.Extensions[publicKeyExtension])
}

// hangUp closes the host's connection when a reconnection of the same host
// takes its place.
func (c *conn) hangUp() { c.sc.Close() }

// sessionBytes counts the bytes read from a host into its session's total
// (the audit trail's), keeping those read before the session is known.
// Only the host's reader uses it.
type sessionBytes struct {
	r       io.Reader
	sess    *session.Session
	pending int64
}

func (b *sessionBytes) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if b.sess != nil {
		b.sess.AddHostBytes(int64(n))
	} else {
		b.pending += int64(n)
	}
	return n, err
}

// count adds what is read from now on, and was before, to sess.
func (b *sessionBytes) count(sess *session.Session) {
	b.sess = sess
	sess.AddHostBytes(b.pending)
	b.pending = 0
}

// refreshReconnectionData gives the host fresh reconnection data every
// interval until stop is closed.
func refreshReconnectionData(sess *session.Session, every time.Duration, stop <-chan struct{}) {
	defer sess.Recover("host reconnection data")
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			sess.RefreshReconnectionData()
		case <-stop:
			return
		case <-sess.Done():
			return
		}
	}
}

// hostStream is the host's decoded messages, with the one resume read
// ahead put back; onReady is called at each READY.
type hostStream struct {
	dec     *protocol.Decoder
	pending protocol.HostMessage
	err     error
	onReady func()
}

func (s *hostStream) Next() (protocol.HostMessage, error) {
	if m, err := s.pending, s.err; m != nil || err != nil {
		s.pending, s.err = nil, nil
		return m, err
	}
	m, err := s.dec.Next()
	if _, ok := m.(*protocol.Ready); ok && s.onReady != nil {
		s.onReady()
	}
	return m, err
}

// startup is a host's deadline to finish its start-up (send READY).
type startup struct {
	timer   *time.Timer
	expired atomic.Bool
}

func (st *startup) ready() { st.timer.Stop() }

// startupDeadline tells the host why and closes its channel unless READY
// arrives within HostReadyTimeout: a host that never finishes its
// start-up would otherwise hold a session, and its slot, for ever.
func (c *conn) startupDeadline(notify interface{ Notify(string) error }, log *slog.Logger) *startup {
	d := c.srv.cfg.HostReadyTimeout
	st := &startup{}
	st.timer = time.AfterFunc(d, func() {
		st.expired.Store(true)
		log.Info("host closed: no READY within the start-up deadline", "deadline", d)
		told := make(chan struct{})
		go func() {
			notify.Notify(fmt.Sprintf("Relay: the session did not finish starting within %s.", d))
			close(told)
		}()
		select { // a host that reads nothing must not keep its channel open
		case <-told:
		case <-time.After(time.Second):
		}
		c.ch.Close()
	})
	return st
}

// refuseHost tells a host why it may not host (its keys are not listed in
// [hosts] authorized_keys, its address has too many sessions), in a
// NOTIFY its user reads, once its header (within HostReadyTimeout) says
// how to encode it; logMsg and logArgs say it in the log.
func (c *conn) refuseHost(notice, logMsg string, logArgs ...any) {
	if !c.waitSubsystem() {
		return
	}
	enc := protocol.NewEncoder(c.ch)
	dec := protocol.NewDecoder(bufio.NewReader(c.ch), c.srv.cfg.Limits)
	t := time.AfterFunc(c.srv.cfg.HostReadyTimeout, func() { c.ch.Close() })
	defer t.Stop()
	if m, err := dec.Next(); err == nil {
		if hdr, ok := m.(*protocol.Header); ok {
			enc.SetClientProtocol(hdr.ProtocolVersion)
		}
	}
	enc.Notify(notice)
	c.srv.cfg.Log.Info(logMsg, append([]any{"addr", c.addr}, logArgs...)...)
	c.lingerThenClose()
}

// waitSubsystem answers the channel's requests until the host asks for the
// tmate subsystem; everything else is refused.
func (c *conn) waitSubsystem() bool {
	timer := time.NewTimer(c.srv.cfg.GracePeriod)
	defer timer.Stop()
	for {
		select {
		case req, ok := <-c.reqs:
			if !ok {
				return false
			}
			if req.Type == "subsystem" && subsystemName(req.Payload) == "tmate" {
				req.Reply(true, nil)
				go ssh.DiscardRequests(c.reqs)
				return true
			}
			req.Reply(false, nil)
		case <-timer.C:
			return false
		}
	}
}

func subsystemName(payload []byte) string {
	var p struct{ Name string }
	if ssh.Unmarshal(payload, &p) != nil {
		return ""
	}
	return p.Name
}

// lingerThenClose gives a NOTIFY time to reach the host before the
// connection goes away.
func (c *conn) lingerThenClose() {
	c.ch.CloseWrite()
	t := time.NewTimer(2 * time.Second)
	defer t.Stop()
	done := make(chan struct{})
	go func() { io.Copy(io.Discard, c.ch); close(done) }()
	select {
	case <-done:
	case <-t.C:
	}
}

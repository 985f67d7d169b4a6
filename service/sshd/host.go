package sshd

import (
	"bufio"
	"errors"
	"io"
	"time"

	"golang.org/x/crypto/ssh"

	"tmate-relay/service/protocol"
	"tmate-relay/service/session"
)

// host serves a tmate host: it waits for the `tmate` subsystem, then reads
// the host's stream into a new session until the host leaves.
func (c *conn) host() {
	log := c.srv.cfg.Log.With("addr", c.addr, "role", "host")
	if !c.waitSubsystem() {
		log.Info("host connection without the tmate subsystem")
		return
	}
	enc := protocol.NewEncoder(c.ch)
	in := bufio.NewReaderSize(c.ch, 32<<10)
	dec := protocol.NewDecoder(in, c.srv.cfg.Limits)

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
	if notice := protocol.UnsupportedVersionNotice(hdr.ProtocolVersion, hdr.ClientVersion); notice != "" {
		enc.SetClientProtocol(hdr.ProtocolVersion)
		enc.Notify(notice)
		log.Info("host refused: unsupported protocol", "protocol", hdr.ProtocolVersion, "client", hdr.ClientVersion)
		c.lingerThenClose()
		return
	}

	sess := session.New(c.srv.cfg.Session, enc)
	if err := c.srv.cfg.Registry.Add(sess); err != nil {
		enc.Notify("Relay: " + err.Error())
		log.Warn("host refused", "err", err)
		c.lingerThenClose()
		return
	}
	defer c.srv.cfg.Registry.Remove(sess)
	log.Info("session started", "client", hdr.ClientVersion, "sessions", c.srv.cfg.Registry.Len())

	reason, failed := c.readHost(sess, dec, in)
	if failed {
		enc.Notify(reason) // the tmate user sees why the relay hung up
	}
	sess.End(reason)
	log.Info("session ended", "why", reason)
}

// refuseHost tells a host whose keys are not listed in [hosts]
// authorized_keys why it may not host, in a NOTIFY its user reads.
func (c *conn) refuseHost(fingerprint string) {
	if !c.waitSubsystem() {
		return
	}
	enc := protocol.NewEncoder(c.ch)
	dec := protocol.NewDecoder(bufio.NewReader(c.ch), c.srv.cfg.Limits)
	if m, err := dec.Next(); err == nil {
		if hdr, ok := m.(*protocol.Header); ok {
			enc.SetClientProtocol(hdr.ProtocolVersion)
		}
	}
	enc.Notify("Relay: " + HostKeyRefusal + " Your key " + fingerprint + " is not listed.")
	c.srv.cfg.Log.Info("host told why it was refused", "addr", c.addr, "key", fingerprint)
	c.lingerThenClose()
}

// maxUntold bounds how long guests go untold of a change while the host's
// stream keeps the read buffer from running dry.
const maxUntold = 2 * time.Millisecond

// readHost applies the host's messages until it finishes, fails or the
// session is ended from outside; it returns the reason guests are shown and
// whether the host's stream was at fault. Guests are told of changes once
// the messages read so far (in) are all applied, so that what arrived
// together is drawn together.
func (c *conn) readHost(sess *session.Session, dec *protocol.Decoder, in *bufio.Reader) (reason string, failed bool) {
	var untold time.Time // first change not yet told, zero if none
	defer func() {
		if !untold.IsZero() {
			sess.NotifyGuests()
		}
	}()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		select {
		case <-sess.Done(): // shut down by the relay: unblock the reader
			c.ch.Close()
		case <-stop:
		}
	}()
	for {
		m, err := dec.Next()
		if err != nil {
			select {
			case <-sess.Done():
				return sess.EndReason(), false
			default:
			}
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return "The host disconnected.", false
			}
			c.srv.cfg.Log.Info("host stream failed", "addr", c.addr, "err", err)
			return "The host's stream could not be read: " + err.Error(), true
		}
		changed, fin, err := sess.ApplyQuiet(m)
		var refused *session.RefusedError
		if errors.As(err, &refused) {
			c.srv.cfg.Log.Info("host refused", "addr", c.addr, "why", refused.Msg)
			return refused.Msg, true
		}
		if changed && untold.IsZero() {
			untold = time.Now()
		}
		if !untold.IsZero() && (in.Buffered() == 0 || time.Since(untold) >= maxUntold) {
			sess.NotifyGuests()
			untold = time.Time{}
		}
		if err != nil {
			c.srv.cfg.Log.Info("host sent an unusable message", "addr", c.addr, "err", err)
			return "The host sent something the relay cannot show: " + err.Error(), true
		}
		if fin {
			return "The host closed the session.", false
		}
	}
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

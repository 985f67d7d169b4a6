// Package sshd is the relay's SSH front door: it authenticates connections,
// routes each one once to its role (a tmate host, or a guest holding a
// token) and hands it to that role's handler.
package sshd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pires/go-proxyproto"
	"golang.org/x/crypto/ssh"

	"tmate-relay/service/accept"
	"tmate-relay/service/audit"
	"tmate-relay/service/internal/keepalive"
	"tmate-relay/service/metrics"
	"tmate-relay/service/protocol"
	"tmate-relay/service/session"
	"tmate-relay/service/viewer"
)

// HostUser is the SSH user name tmate hosts log in with.
const HostUser = "tmate"

// Config is what the front door needs; zero values mean defaults.
type Config struct {
	HostKeys      []ssh.Signer
	Registry      *session.Registry
	Session       session.Config
	Limits        protocol.Limits
	GracePeriod   time.Duration // for a connection to authenticate and open its channel (20 s)
	KeepAlive     time.Duration // between keepalive probes (30 s); 3 unanswered end the connection
	EscapeTime    time.Duration // wait for the rest of an escape sequence from a guest (50 ms)
	Log           *slog.Logger
	ServerVersion string
	// ShutdownNotice is what guests read when the relay stops, unless
	// ShutdownWith says otherwise (RestartNotice by default). Hosts are
	// not told: tmate reconnects by itself, to this relay once it is back.
	ShutdownNotice string
	// HostAuthorizedKeys is an OpenSSH authorized_keys file: when set, a
	// host must authenticate with one of its keys. Empty: anyone may host.
	HostAuthorizedKeys string
	// InputRate caps each guest's input in bytes per second (0: no cap).
	InputRate int
	// HostOutputRate caps what is read from each host in bytes per second
	// (0: no cap), after a burst of HostOutputBurst bytes (0: a second's
	// worth). The host's channel is read more slowly: its window closes
	// and the host waits; nothing is dropped.
	HostOutputRate  int
	HostOutputBurst int
	// HostWriteTimeout bounds one write to a host (1 min): a host that
	// reads nothing the relay sends for that long is disconnected, so
	// guests' keys, and the goroutines that send them, do not wait on it
	// for ever.
	HostWriteTimeout time.Duration
	// GuestWriteTimeout bounds one frame's write to a guest (30 s): a
	// guest that takes nothing for that long is dropped.
	GuestWriteTimeout time.Duration
	// Per source address: failed token attempts allowed within
	// FailureWindow before each further one waits longer (10, 1 min).
	TokenFailures int
	FailureWindow time.Duration
	// MaxStartups caps the connections one address holds before they
	// reach a session (a guest's token names a live one, a host passes
	// authentication): 10:30:100; a Full below Start is a hard cap at
	// Start. MaxStartupsTotal caps them for all addresses together (1000).
	MaxStartups      Startups
	MaxStartupsTotal int
	// StartupWait is how long a connection beyond MaxStartups.Start waits
	// for a place before the early drop decides (10 s; limits.go).
	StartupWait time.Duration
	// HostReadyTimeout is how long a host has, once its tmate subsystem
	// is open, to finish its start-up (READY) before it is told why and
	// closed (30 s; tmate takes well under a second).
	HostReadyTimeout time.Duration
	// SessionsPerAddress caps the live host connections from one source
	// address (50); more are told the limit and closed.
	SessionsPerAddress int
	// ProxyProtocol: every connection opens with a PROXY protocol header
	// (v1 or v2, from a load balancer) whose client address the relay
	// uses; false refuses connections that send one (proxy.go).
	ProxyProtocol bool
	// Metrics counts handshakes, refusals, hosts' bytes and reconnects,
	// and guests (nil: none).
	Metrics *metrics.Metrics
	// Audit records sessions' starts, hosts' reconnections, guests'
	// joins and leaves, and refusals (nil: none); Session.Audit their ends.
	Audit *audit.Trail
	// Forwarder carries guests to the node of a cluster that holds their
	// session (forward.go); nil: a relay on its own.
	Forwarder Forwarder
}

// Server accepts SSH connections for hosts and guests.
type Server struct {
	cfg      Config
	ssh      *ssh.ServerConfig
	hostKeys *authorizedKeys // nil: anyone may host
	limits   *addrLimits
	hosts    hostCounts
	auth     sync.Map // remote address string -> *authNote, during the handshake
	// hostRefusals lets a refused host back in once to read why (auth.go).
	hostRefusals hostRefusals
	// watchdog watches the frames hosts' readers draw for guests.
	watchdog *viewer.Watchdog

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[*ssh.ServerConn]struct{}
	closing   bool
	stopping  chan struct{} // closed when Shutdown starts: connections waiting for a place give up
	draining  chan struct{} // closed when Drain starts: hosts are turned away, carried guests told to join again
	drainOnce sync.Once
	refusing  bool         // drained with its listeners closed: Serve takes no new one
	carried   atomic.Int64 // guests carried to other nodes now (forward.go)
	wg        sync.WaitGroup
}

// New returns a server with the given configuration.
func New(cfg Config) (*Server, error) {
	if len(cfg.HostKeys) == 0 {
		return nil, errors.New("no host keys")
	}
	if cfg.Registry == nil {
		cfg.Registry = session.NewRegistry(0)
	}
	if cfg.GracePeriod <= 0 {
		cfg.GracePeriod = 20 * time.Second
	}
	if cfg.KeepAlive <= 0 {
		cfg.KeepAlive = 30 * time.Second
	}
	if cfg.EscapeTime <= 0 {
		cfg.EscapeTime = 50 * time.Millisecond
	}
	if cfg.HostWriteTimeout <= 0 {
		cfg.HostWriteTimeout = time.Minute
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Session.Log == nil {
		cfg.Session.Log = cfg.Log // where a panic that ends a session goes
	}
	if cfg.ServerVersion == "" {
		cfg.ServerVersion = "SSH-2.0-tmate-relay"
	}
	if cfg.ShutdownNotice == "" {
		cfg.ShutdownNotice = RestartNotice
	}
	if cfg.TokenFailures <= 0 {
		cfg.TokenFailures = 10
	}
	if cfg.FailureWindow <= 0 {
		cfg.FailureWindow = time.Minute
	}
	if cfg.MaxStartups.Start <= 0 {
		cfg.MaxStartups = Startups{Start: 10, Rate: 30, Full: 100}
	}
	if cfg.MaxStartupsTotal <= 0 {
		cfg.MaxStartupsTotal = 1000
	}
	if cfg.StartupWait <= 0 {
		cfg.StartupWait = 10 * time.Second
	}
	if cfg.HostReadyTimeout <= 0 {
		cfg.HostReadyTimeout = 30 * time.Second
	}
	if cfg.SessionsPerAddress <= 0 {
		cfg.SessionsPerAddress = 50
	}
	s := &Server{cfg: cfg, listeners: map[net.Listener]struct{}{}, conns: map[*ssh.ServerConn]struct{}{}, stopping: make(chan struct{}), draining: make(chan struct{}), watchdog: viewer.NewWatchdog()}
	s.limits = newAddrLimits(cfg.TokenFailures, cfg.FailureWindow, cfg.MaxStartups, cfg.MaxStartupsTotal, cfg.StartupWait)
	s.hosts = hostCounts{max: cfg.SessionsPerAddress}
	if cfg.HostAuthorizedKeys != "" {
		s.hostKeys = newAuthorizedKeys(cfg.HostAuthorizedKeys)
	}
	sc := &ssh.ServerConfig{
		// tmate hosts and guests both try "none" first; tokens, not
		// passwords, decide who may join, unless the relay restricts its
		// hosts or a host its guests to listed keys (auth.go).
		NoClientAuth:         true,
		NoClientAuthCallback: s.noneAuth,
		PublicKeyCallback:    s.publicKeyAuth,
		// Only to tell a guest of a key-restricted session why it may
		// not join (auth.go).
		KeyboardInteractiveCallback: s.keyboardInteractiveAuth,
		PreAuthConnCallback:         s.preAuth,
		ServerVersion:               cfg.ServerVersion,
	}
	// The client's preference decides among the ciphers both sides know.
	// Both OpenSSH and libssh (tmate) put chacha20-poly1305 first, and
	// it is not offered. libssh (tmate) lists AES-GCM next (AES-NI, fast
	// in Go), so hosts take it; OpenSSH 9 lists CTR before GCM, so ssh
	// guests take aes128-ctr with an HMAC. CTR stays for clients without
	// GCM (PuTTY before 0.76).
	sc.Ciphers = []string{ssh.CipherAES128GCM, ssh.CipherAES256GCM,
		ssh.CipherAES128CTR, ssh.CipherAES192CTR, ssh.CipherAES256CTR}
	for _, k := range cfg.HostKeys {
		sc.AddHostKey(k)
	}
	s.ssh = sc
	return s, nil
}

// What guests read when the relay restarts, and when it stops for good.
const (
	RestartNotice = "The relay is restarting: join again with the same command once the host has reconnected."
	StopNotice    = "The relay is stopping: join again with the same command if it comes back and the host reconnects."
	// DrainNotice is what guests read when their node is drained: the
	// host reconnects to another node of the cluster.
	DrainNotice = "This relay node is being emptied for maintenance: join again with the same command once the host has reconnected to another node."
)

// Registry returns the live sessions.
func (s *Server) Registry() *session.Registry { return s.cfg.Registry }

// Serve accepts connections on l until l is closed or Shutdown is called.
// A failed accept (out of descriptors, say) is waited out, never returned.
func (s *Server) Serve(l net.Listener) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return net.ErrClosed
	}
	if s.refusing {
		s.mu.Unlock()
		l.Close()
		return nil
	}
	l = accept.Retrying(l, "ssh", s.cfg.Log)
	if s.cfg.ProxyProtocol {
		l = proxyListener(l, s.cfg.GracePeriod)
	}
	s.listeners[l] = struct{}{}
	s.mu.Unlock()
	for {
		nc, err := l.Accept()
		if err != nil {
			s.mu.Lock()
			closing := s.closing
			s.mu.Unlock()
			if closing || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer s.survive()
			s.handleConn(nc)
		}()
	}
}

// Shutdown stops accepting, ends every session (guests get a message) and
// waits for connections to finish or ctx to expire. Hosts are not told to
// exit: their connections close and tmate retries every 2 s, so after a
// restart they reconnect and get their sessions back.
func (s *Server) Shutdown(ctx context.Context) error {
	return s.ShutdownWith(ctx, s.cfg.ShutdownNotice)
}

// ShutdownWith is Shutdown with what guests read (RestartNotice,
// StopNotice): whether the relay comes back is known only when it stops.
func (s *Server) ShutdownWith(ctx context.Context, notice string) error {
	s.mu.Lock()
	if !s.closing {
		close(s.stopping)
	}
	s.closing = true
	for l := range s.listeners {
		l.Close()
	}
	s.mu.Unlock()
	for _, sess := range s.cfg.Registry.Sessions() {
		sess.End(notice)
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		<-done
		return ctx.Err()
	}
}

// Drain turns hosts away from now on, so that they reconnect to another
// node of the cluster, and tells the guests this node carries to other
// nodes to join again; with stopAccepting it also closes the listeners,
// so that a load balancer's connection check takes the node out at once.
// Guests still join, and are carried to their sessions' nodes. Ending
// the sessions held here is the caller's part.
func (s *Server) Drain(stopAccepting bool) {
	s.drainOnce.Do(func() { close(s.draining) })
	if !stopAccepting {
		return
	}
	s.mu.Lock()
	s.refusing = true
	for l := range s.listeners {
		l.Close()
		delete(s.listeners, l)
	}
	s.mu.Unlock()
}

// Draining reports whether Drain was called.
func (s *Server) Draining() bool {
	select {
	case <-s.draining:
		return true
	default:
		return false
	}
}

// Carried is the number of guests this node carries to other nodes now.
func (s *Server) Carried() int { return int(s.carried.Load()) }

func (s *Server) handleConn(nc net.Conn) {
	defer nc.Close()
	if tc, ok := rawTCP(nc); ok {
		tc.SetNoDelay(true) // keystrokes and small frames must not wait for Nagle
	}
	if pc, ok := nc.(*proxyproto.Conn); ok && pc.ProxyHeader() == nil {
		// Reading the header (RemoteAddr would too) failed or timed out.
		s.cfg.Log.Info("connection refused: no valid PROXY protocol header ([ssh] proxy_protocol is true)", "addr", remoteIP(nc.RemoteAddr()))
		return
	}
	addr := remoteIP(nc.RemoteAddr()) // with PROXY protocol, the client's
	if !s.cfg.ProxyProtocol {
		nc = &refuseProxyHeader{Conn: nc, r: bufio.NewReader(nc)}
	}
	// Until it names a live session (or, for a host, passes
	// authentication) a connection counts against the caps.
	asked := time.Now()
	why := s.limits.open(addr, s.stopping)
	if waited := time.Since(asked); waited >= time.Millisecond {
		s.cfg.Log.Debug("waited for a place among unauthenticated connections", "addr", addr, "waited", waited.Round(time.Millisecond), "admitted", why == admitted)
	}
	if why != admitted {
		s.refuse(metrics.Limits, audit.Event{Addr: addr, Why: string(why)})
		s.cfg.Log.Info("connection refused: "+why, "addr", addr)
		return
	}
	release := sync.OnceFunc(func() { s.limits.done(addr) })
	defer release()
	// The grace period covers the handshake and authentication; the
	// handlers extend it until a channel is open.
	nc.SetDeadline(time.Now().Add(s.cfg.GracePeriod))
	note := &authNote{}
	s.auth.Store(nc.RemoteAddr().String(), note)
	start := time.Now()
	sc, chans, reqs, err := ssh.NewServerConn(nc, s.ssh)
	s.auth.Delete(nc.RemoteAddr().String())
	if err != nil {
		if refusal := note.refusal(); refusal != "" {
			s.refuse(note.reason(), note.event(addr, refusal))
			if note.guest {
				// As for a wrong token: the address's slot stays taken for
				// the penalty, which slows probing for key-restricted
				// sessions' names as much as guessing tokens.
				defer time.Sleep(s.limits.fail(addr))
			}
			if note.lastKey != nil {
				s.hostRefusals.remember(nc.RemoteAddr(), note.lastKey)
			}
			s.cfg.Log.Info(refusal, "addr", addr)
		} else if errors.Is(err, errProxyHeader) {
			s.cfg.Log.Info(errProxyHeader.Error(), "addr", addr)
		} else {
			s.cfg.Log.Debug("ssh handshake failed", "addr", addr, "err", err)
		}
		return
	}
	defer sc.Close()
	s.cfg.Metrics.Handshake(start)
	if sc.User() == HostUser && s.Draining() {
		// Closed without a word: tmate reconnects by itself, and the load
		// balancer has taken this node out by then.
		s.cfg.Log.Info("host turned away: this node is being drained", "addr", addr)
		return
	}
	refusedKey := ""
	if sc.Permissions != nil {
		refusedKey = sc.Permissions.Extensions[refusedHost]
	}
	// A guest whose token names a live session is no longer a stranger:
	// its place goes to the next one while it opens its terminal.
	if sc.User() != HostUser && s.guestSession(sc.User()) != nil {
		release()
	}
	// A host counts against its address's live hosts from here on; one
	// over that cap keeps its unauthenticated place while it is told.
	overCap := false
	if sc.User() == HostUser && refusedKey == "" {
		if s.hosts.take(addr) {
			defer s.hosts.leave(addr)
			release()
		} else {
			overCap = true
		}
	}
	nc.SetDeadline(time.Time{})
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return
	}
	s.conns[sc] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, sc)
		s.mu.Unlock()
	}()
	go ssh.DiscardRequests(reqs)
	go s.keepAlive(sc)

	ch, chReqs, ok := s.acceptSession(sc, chans)
	if !ok {
		return
	}
	c := conn{srv: s, sc: sc, ch: ch, reqs: chReqs, addr: addr, user: sc.User(), admitted: release, input: make(chan struct{}, 1)}
	if sc.User() == HostUser && refusedKey != "" {
		c.refuseHost("Relay: "+HostKeyRefusal+" Your key "+refusedKey+" is not listed.", "host told why it was refused", "key", refusedKey)
	} else if sc.User() == HostUser && overCap {
		s.refuse(metrics.Limits, audit.Event{HostAddr: addr, HostKey: c.keyFingerprint(), Why: "too many sessions from this address"})
		c.refuseHost(fmt.Sprintf("Relay: this relay takes at most %d sessions from one address (sessions_per_address), and yours has that many: end one and start again.", s.cfg.SessionsPerAddress),
			"host refused: too many sessions from this address", "limit", s.cfg.SessionsPerAddress)
	} else if sc.User() == HostUser {
		c.host()
	} else {
		c.guest()
	}
	ch.Close()
	// Let the peer read its last bytes and hang up first: closing at once
	// can cut off what it has not yet shown ("closed by remote host").
	waitClosed(sc, time.Second)
}

// refuse counts a refusal for reason and records it in the audit trail
// as e, which says who was refused and why.
func (s *Server) refuse(reason metrics.Reason, e audit.Event) {
	s.cfg.Metrics.Refused(reason)
	e.Kind, e.Reason = audit.Refusal, string(reason)
	s.cfg.Audit.Emit(e)
}

// waitClosed waits up to d for the peer to close the connection.
func waitClosed(sc *ssh.ServerConn, d time.Duration) {
	done := make(chan struct{})
	go func() { sc.Wait(); close(done) }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}

// acceptSession waits (within the grace period) for the connection's one
// session channel; any other channel is refused.
func (s *Server) acceptSession(sc *ssh.ServerConn, chans <-chan ssh.NewChannel) (ssh.Channel, <-chan *ssh.Request, bool) {
	timer := time.NewTimer(s.cfg.GracePeriod)
	defer timer.Stop()
	for {
		select {
		case nch, ok := <-chans:
			if !ok {
				return nil, nil, false
			}
			if nch.ChannelType() != "session" {
				nch.Reject(ssh.UnknownChannelType, "only session channels are served")
				continue
			}
			ch, reqs, err := nch.Accept()
			if err != nil {
				return nil, nil, false
			}
			go rejectChannels(chans)
			return ch, reqs, true
		case <-timer.C:
			return nil, nil, false
		}
	}
}

func rejectChannels(chans <-chan ssh.NewChannel) {
	for nch := range chans {
		nch.Reject(ssh.Prohibited, "one session per connection")
	}
}

// keepAlive probes the peer; unanswered probes end the connection, so a
// host or guest that vanished does not hold its session forever.
func (s *Server) keepAlive(sc *ssh.ServerConn) {
	keepalive.Probe(sc, s.cfg.KeepAlive, func() {
		s.cfg.Log.Info("keepalive timeout", "addr", remoteIP(sc.RemoteAddr()))
	})
}

func remoteIP(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	return a.String()
}

// conn is one routed connection with its session channel.
type conn struct {
	srv  *Server
	sc   *ssh.ServerConn
	ch   ssh.Channel
	reqs <-chan *ssh.Request
	addr string
	user string // the SSH user: "tmate" for a host, a guest's token
	// forwarded: a guest another node of the cluster carried here
	// (forward.go); sc is nil.
	forwarded bool
	// forwardedKey is the public key (wire format) a forwarded guest
	// authenticated with on the node it reached; nil: none.
	forwardedKey []byte
	// admitted tells the address's limits that the connection reached a
	// session; it may be called more than once.
	admitted func()
	pty      bool          // the guest has a terminal (pty-req)
	input    chan struct{} // a guest's input arrived (settle)
}

package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"tmate-relay/packaging"
	"tmate-relay/service/admin"
	"tmate-relay/service/cluster"
	"tmate-relay/service/config"
	"tmate-relay/service/drain"
	"tmate-relay/service/hostkey"
	"tmate-relay/service/nodelink"
	"tmate-relay/service/session"
	"tmate-relay/service/sshd"
	"tmate-relay/service/web"
)

// joinTimeout bounds joining the cluster at start-up: reaching etcd, and
// waiting out the lease of this node's previous run (at most lease_ttl).
const joinTimeout = time.Minute

// joinCluster makes this relay a node of the [cluster] and its registry
// register sessions there; an error means the relay must not start (etcd
// out of reach, or keys that differ from the cluster's).
func joinCluster(cfg *config.Config, keys []ssh.Signer, reconnectKey []byte, registry *session.Registry, log *slog.Logger) (*cluster.Node, error) {
	tlsCfg, err := etcdTLS(cfg.Cluster)
	if err != nil {
		return nil, err
	}
	identity, err := clusterIdentity(cfg, keys, reconnectKey)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), joinTimeout)
	defer cancel()
	node, err := cluster.Join(ctx, cluster.Config{
		Endpoints:         cfg.Cluster.EtcdEndpoints,
		TLS:               tlsCfg,
		NodeName:          cfg.Cluster.NodeName,
		InternalAdvertise: cfg.InternalAdvertise(),
		LeaseTTL:          cfg.Cluster.LeaseTTL,
		Secret:            reconnectKey,
		Identity:          identity,
		Log:               log,
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	registry.SetDirectory(node)
	node.OnClash(registry.EndTaken)
	return node, nil
}

// clusterIdentity is what every node must present alike: the host keys'
// fingerprints (clients pin them), the repository signing key's (hosts'
// package managers trust it) and a check value of the reconnection key
// (hosts reconnect to any node with data it signed).
func clusterIdentity(cfg *config.Config, keys []ssh.Signer, reconnectKey []byte) ([]cluster.Check, error) {
	var checks []cluster.Check
	for i, s := range keys {
		checks = append(checks, cluster.Check{
			Name:  "host-key/" + s.PublicKey().Type(),
			What:  "host key",
			File:  filepath.Join(cfg.SSH.HostKeysDir, hostkey.Files[i].Name),
			Value: ssh.FingerprintSHA256(s.PublicKey()),
		})
	}
	if cfg.Repo.Enabled {
		path := packaging.SigningKeyPath(cfg)
		k, _, err := packaging.LoadOrCreateSigningKey(path)
		if err != nil {
			return nil, fmt.Errorf("repository signing key: %w", err)
		}
		checks = append(checks, cluster.Check{Name: "repo-signing-key", What: "repository signing key", File: path, Value: k.Fingerprint()})
	}
	checks = append(checks, cluster.Check{
		Name:  "reconnect-key",
		What:  "reconnection key",
		File:  filepath.Join(packaging.StateDir(cfg), session.ReconnectKeyFile),
		Value: cluster.SecretCheck(reconnectKey),
	})
	return checks, nil
}

// etcdTLS is the TLS configuration for https:// endpoints, nil for
// http://.
func etcdTLS(c config.Cluster) (*tls.Config, error) {
	if len(c.EtcdEndpoints) == 0 || !strings.HasPrefix(c.EtcdEndpoints[0], "https://") {
		return nil, nil
	}
	t := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.EtcdCA != "" {
		pem, err := os.ReadFile(c.EtcdCA)
		if err != nil {
			return nil, fmt.Errorf("[cluster] etcd_ca: %w", err)
		}
		t.RootCAs = x509.NewCertPool()
		if !t.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("[cluster] etcd_ca %s holds no PEM certificate", c.EtcdCA)
		}
	}
	if c.EtcdCert != "" {
		cert, err := tls.LoadX509KeyPair(c.EtcdCert, c.EtcdKey)
		if err != nil {
			return nil, fmt.Errorf("[cluster] etcd_cert/etcd_key: %w", err)
		}
		t.Certificates = []tls.Certificate{cert}
	}
	return t, nil
}

// guestForwarder finds the node holding a guest's session in etcd and
// carries the guest there over the node link: an ssh guest's channel, or a
// browser's requests.
type guestForwarder struct {
	node     *cluster.Node
	links    *nodelink.Dialer
	refusals web.TokenRefusals // the per-address slow-down of unknown tokens
}

// sshForwarder and webForwarder are f for sshd and web, nil (no
// forwarding) when f is.
func sshForwarder(f *guestForwarder) sshd.Forwarder {
	if f == nil {
		return nil
	}
	return f
}

func webForwarder(f *guestForwarder) web.Forwarder {
	if f == nil {
		return nil
	}
	return f
}

// webGuestChannel is the node-link channel type of one HTTP connection
// carried for a browser guest; its extra data is the browser's address.
const webGuestChannel = "web@tmate-relay"

// ForwardWeb serves a browser guest's request (the page, or its WebSocket)
// from the node holding its session, through a proxy over the node link;
// the owner sees the browser's address.
func (f *guestForwarder) ForwardWeb(w http.ResponseWriter, r *http.Request, token string) bool {
	addr, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		addr = r.RemoteAddr
	}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	o, ok, err := f.node.Lookup(ctx, token)
	cancel()
	if err != nil {
		time.Sleep(f.refusals.RefuseToken(addr))
		http.Error(w, sshd.ForwardUnavailableMessage, http.StatusServiceUnavailable)
		return true
	}
	if !ok || o.Node == f.node.Name() {
		return false
	}
	proxy := &httputil.ReverseProxy{
		Director: func(out *http.Request) {
			out.URL.Scheme, out.URL.Host = "http", o.Internal // the Host header stays the browser's
		},
		Transport: &http.Transport{
			DisableKeepAlives: true,
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				ch, reqs, err := f.links.Open(ctx, o.Internal, webGuestChannel, []byte(addr))
				if err != nil {
					return nil, err
				}
				go ssh.DiscardRequests(reqs)
				return nodelink.ChannelConn(ch, o.Internal), nil
			},
		},
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			http.Error(w, sshd.ForwardUnavailableMessage, http.StatusBadGateway)
		},
		ErrorLog: slog.NewLogLogger(slog.Default().Handler(), slog.LevelDebug),
	}
	proxy.ServeHTTP(w, r)
	return true
}

func (f *guestForwarder) OpenGuest(ctx context.Context, token, addr string, key []byte) (ssh.Channel, <-chan *ssh.Request, bool, error) {
	o, ok, err := f.node.Lookup(ctx, token)
	if err != nil {
		return nil, nil, false, fmt.Errorf("cluster lookup: %w", err)
	}
	if !ok || o.Node == f.node.Name() {
		return nil, nil, false, nil
	}
	ch, reqs, err := f.links.Open(ctx, o.Internal, sshd.ForwardedGuestChannel, sshd.ForwardedGuestData(token, addr, key))
	if err != nil {
		return nil, nil, false, fmt.Errorf("node %s (%s): %w", o.Node, o.Internal, err)
	}
	return ch, reqs, true, nil
}

func (f *guestForwarder) GuestKey(ctx context.Context, token string, key []byte) (allowed, found bool, err error) {
	o, ok, err := f.node.Lookup(ctx, token)
	if err != nil {
		return false, false, fmt.Errorf("cluster lookup: %w", err)
	}
	if !ok || o.Node == f.node.Name() {
		return false, false, nil
	}
	ch, reqs, err := f.links.Open(ctx, o.Internal, sshd.GuestKeyChannel, sshd.GuestKeyData(token, key))
	var oce *ssh.OpenChannelError
	switch {
	case errors.As(err, &oce) && oce.Reason == ssh.Prohibited:
		return false, true, nil
	case errors.As(err, &oce):
		return false, false, nil // the session left that node meanwhile
	case err != nil:
		return false, false, fmt.Errorf("node %s (%s): %w", o.Node, o.Internal, err)
	}
	go ssh.DiscardRequests(reqs)
	ch.Close()
	return true, true, nil
}

// serveNodeLinks serves the other nodes' links on [cluster]
// internal_listen: forwarded ssh guests go to srv, browser guests' HTTP
// connections to webHandler (nil: no web side).
func serveNodeLinks(cfg *config.Config, keys []ssh.Signer, srv *sshd.Server, webHandler http.Handler, log *slog.Logger, errc chan<- error) (stop func(), err error) {
	l, err := net.Listen("tcp", cfg.Cluster.InternalListen)
	if err != nil {
		return nil, fmt.Errorf("[cluster] internal_listen: %w", err)
	}
	var webL *nodelink.Listener
	webSrv := web.NewServer(webHandler, 0, log)
	if webHandler != nil {
		webL = nodelink.NewListener()
		go webSrv.Serve(webL)
	}
	links := nodelink.NewServer(keys, func(peer string, nch ssh.NewChannel) {
		switch {
		case nch.ChannelType() == sshd.ForwardedGuestChannel:
			srv.ServeForwardedGuest(nch)
		case nch.ChannelType() == sshd.GuestKeyChannel:
			srv.AnswerGuestKey(nch)
		case nch.ChannelType() == webGuestChannel && webL != nil:
			addr := string(nch.ExtraData())
			if net.ParseIP(addr) == nil {
				nch.Reject(ssh.ConnectionFailed, "no browser address")
				return
			}
			ch, reqs, err := nch.Accept()
			if err != nil {
				return
			}
			go ssh.DiscardRequests(reqs)
			webL.Hand(nodelink.ChannelConn(ch, addr))
		default:
			nch.Reject(ssh.UnknownChannelType, "not served")
		}
	}, log)
	links.KeepAlive = cfg.Limits.KeepaliveInterval
	log.Info("node links listening", "internal", l.Addr().String(), "advertise", cfg.InternalAdvertise())
	go func() {
		if err := links.Serve(l); !errors.Is(err, net.ErrClosed) {
			errc <- err
		}
	}()
	return func() {
		links.Close()
		if webL != nil {
			webSrv.Close()
		}
	}, nil
}

// adminDrainer and drainingFunc are d for the admin socket and the web
// side's /healthz, nil (no drain) when d is.
func adminDrainer(d *drain.Node) admin.Drainer {
	if d == nil {
		return nil
	}
	return d
}

func drainingFunc(d *drain.Node) func() bool {
	if d == nil {
		return nil
	}
	return d.Draining
}

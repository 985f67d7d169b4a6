package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"tmate-relay/packaging"
	"tmate-relay/service/cluster"
	"tmate-relay/service/config"
	"tmate-relay/service/hostkey"
	"tmate-relay/service/nodelink"
	"tmate-relay/service/session"
	"tmate-relay/service/sshd"
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
// opens the guest's channel to it over the node link.
type guestForwarder struct {
	node  *cluster.Node
	links *nodelink.Dialer
}

func (f *guestForwarder) OpenGuest(ctx context.Context, token, addr string) (ssh.Channel, <-chan *ssh.Request, bool, error) {
	o, ok, err := f.node.Lookup(ctx, token)
	if err != nil {
		return nil, nil, false, fmt.Errorf("cluster lookup: %w", err)
	}
	if !ok || o.Node == f.node.Name() {
		return nil, nil, false, nil
	}
	ch, reqs, err := f.links.Open(ctx, o.Internal, sshd.ForwardedGuestChannel, sshd.ForwardedGuestData(token, addr))
	if err != nil {
		return nil, nil, false, fmt.Errorf("node %s (%s): %w", o.Node, o.Internal, err)
	}
	return ch, reqs, true, nil
}

// serveNodeLinks serves the other nodes' links on [cluster]
// internal_listen: forwarded guests go to srv.
func serveNodeLinks(cfg *config.Config, keys []ssh.Signer, srv *sshd.Server, log *slog.Logger, errc chan<- error) (*nodelink.Server, error) {
	l, err := net.Listen("tcp", cfg.Cluster.InternalListen)
	if err != nil {
		return nil, fmt.Errorf("[cluster] internal_listen: %w", err)
	}
	links := nodelink.NewServer(keys, func(peer string, nch ssh.NewChannel) {
		if nch.ChannelType() != sshd.ForwardedGuestChannel {
			nch.Reject(ssh.UnknownChannelType, "not served")
			return
		}
		srv.ServeForwardedGuest(nch)
	}, log)
	log.Info("node links listening", "internal", l.Addr().String(), "advertise", cfg.InternalAdvertise())
	go func() {
		if err := links.Serve(l); !errors.Is(err, net.ErrClosed) {
			errc <- err
		}
	}()
	return links, nil
}

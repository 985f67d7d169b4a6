package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/activation"
	"github.com/coreos/go-systemd/v22/daemon"

	"tmate-relay/packaging"
	"tmate-relay/service/accept"
	"tmate-relay/service/admin"
	"tmate-relay/service/audit"
	"tmate-relay/service/config"
	"tmate-relay/service/drain"
	"tmate-relay/service/hostkey"
	"tmate-relay/service/metrics"
	"tmate-relay/service/nodelink"
	"tmate-relay/service/protocol"
	"tmate-relay/service/session"
	"tmate-relay/service/sshd"
	"tmate-relay/service/viewer"
	"tmate-relay/service/web"
)

// shutdownTimeout bounds a graceful stop: systemd's own stop timeout is
// longer, so the relay always exits by itself.
const shutdownTimeout = 10 * time.Second

func runServe(args []string) error {
	cl := newCommandLine("serve", "usage: tmate-relay serve [-c FILE]\n\nRun the relay: SSH for hosts and guests, HTTP for browsers and repositories.", "", os.Stderr)
	cfg, err := cl.load(args)
	if cfg == nil {
		return err
	}
	log := newLogger(cfg.Log.Level)
	// Signals are taken from the start: a SIGTERM while the relay starts
	// (systemd stopping it, a node of a cluster that has just listed
	// itself in etcd) waits for the stop below instead of killing the
	// process, which would leave its cluster lease to expire.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	trail, err := audit.New(audit.Options{
		Journal: audit.UnderJournal(), Stderr: os.Stderr, Format: cfg.Audit.Format,
		File: cfg.Audit.File, Log: log,
	})
	if err != nil {
		return fmt.Errorf("[audit] file: %w", err)
	}
	defer trail.Close() // after the sessions' ends, recorded by Shutdown
	_, stopPprof, err := servePprof(os.Getenv(pprofEnv), log)
	if err != nil {
		return err
	}
	defer stopPprof()
	for _, note := range cfg.Notes() {
		log.Warn(note)
	}
	keys, err := hostkey.Load(cfg.SSH.HostKeysDir)
	if err != nil {
		return err
	}
	sshL, httpL, adminL, activated, err := listeners(cfg)
	if err != nil {
		return err
	}
	if activated && httpL != nil {
		// [web] listen is ignored under socket activation: the web side is
		// where tmate-relay-http.socket listens, and WebURL (an empty
		// public_url) takes its port from there, not from a stale listen.
		cfg.Web.Listen = httpL.Addr().String()
	}
	if port := cfg.WebURLPortRefused(); httpL != nil && port != 0 {
		log.Warn("browsers refuse the web side's port: set [web] public_url (or listen) to another port",
			"url", cfg.WebURL(), "port", port)
	}

	registry := session.NewRegistry(cfg.Limits.MaxSessions)
	registry.SetPolicy(session.Policy{RequireGuestKeys: cfg.Guests.RequireAuthorizedKeys, APIKeys: cfg.Sessions.APIKeys})
	reconnectKey, err := session.LoadReconnectKey(packaging.StateDir(cfg))
	if err != nil {
		return fmt.Errorf("reconnection key: %w", err)
	}
	registry.SetReconnector(session.NewReconnector(reconnectKey, cfg.Sessions.ReconnectWindow))
	var forwarder *guestForwarder // nil: a relay on its own
	if cfg.Cluster.Enabled {
		node, err := joinCluster(cfg, keys, reconnectKey, registry, log)
		if err != nil {
			sshL.Close()
			if httpL != nil {
				httpL.Close()
			}
			return err
		}
		defer node.Close() // last: the lease's revocation forgets this node's sessions at once
		links := nodelink.NewDialer(keys)
		links.KeepAlive, links.Log = cfg.Limits.KeepaliveInterval, log
		defer links.Close()
		forwarder = &guestForwarder{node: node, links: links}
	}
	m := metrics.New(registry, version)
	recorder, stopRecorder := startRecorder(cfg, m, trail, log)
	// Hosts print the browser pages' links whenever the web side is up:
	// public_url, or by default http://ADVERTISE_HOST:PORT of the web socket.
	webURL := ""
	if httpL != nil {
		webURL = cfg.WebURL()
	}
	srv, err := sshd.New(sshd.Config{
		HostKeys: keys,
		Registry: registry,
		Session: session.Config{
			AdvertiseHost:     cfg.AdvertiseHost(),
			AdvertisePort:     cfg.SSH.AdvertisePort,
			WebURL:            webURL,
			HistoryLines:      cfg.Limits.HistoryLines,
			MaxPanes:          cfg.Limits.MaxPanes,
			MaxGuests:         cfg.Limits.MaxGuestsPerSession,
			MaxCells:          int64(cfg.Limits.MaxSessionCells),
			Cells:             session.NewRelayCells(int64(cfg.Limits.MaxRelayCells)),
			MaxReadOnlyGuests: cfg.Limits.MaxReadOnlyGuestsPerSession,
			MaxConfigBytes:    cfg.Limits.MaxConfigBytes,
			Audit:             trail,
			Record:            recordPolicy(cfg, recorder),
		},
		Limits:             protocol.Limits{MaxMessageBytes: cfg.Limits.MaxMessageSize, MaxPanes: cfg.Limits.MaxPanes, MaxWindows: cfg.Limits.MaxWindows},
		GracePeriod:        cfg.Limits.GracePeriod,
		KeepAlive:          cfg.Limits.KeepaliveInterval,
		Log:                log,
		HostAuthorizedKeys: cfg.Hosts.AuthorizedKeys,
		InputRate:          cfg.Limits.GuestInputRate,
		HostOutputRate:     cfg.Limits.HostOutputRate,
		HostOutputBurst:    cfg.Limits.HostOutputBurst,
		HostWriteTimeout:   cfg.Limits.HostWriteTimeout,
		GuestWriteTimeout:  cfg.Limits.GuestWriteTimeout,
		TokenFailures:      cfg.Limits.TokenFailures,
		FailureWindow:      cfg.Limits.TokenFailureWindow,
		MaxStartups:        sshd.Startups(cfg.Limits.Startups),
		MaxStartupsTotal:   cfg.Limits.MaxStartupsTotal,
		HostReadyTimeout:   cfg.Limits.HostReadyTimeout,
		SessionsPerAddress: cfg.Limits.SessionsPerAddress,
		ProxyProtocol:      cfg.SSH.ProxyProtocol,
		Metrics:            m,
		Audit:              trail,
		Forwarder:          sshForwarder(forwarder),
	})
	if err != nil {
		return err
	}
	errc := make(chan error, 3)
	// Metrics are not worth the sessions: a taken port is logged (and
	// Prometheus sees the relay down), and the relay serves on.
	metricsSrv, err := serveMetrics(cfg.Metrics.Listen, m, log, errc)
	if err != nil {
		log.Error("no metrics", "err", err)
	}
	go func() {
		// nil: closed by a drain or the shutdown, which is no failure.
		if err := srv.Serve(sshL); err != nil {
			errc <- err
		}
	}()
	var drainer *drain.Node // nil: a relay on its own
	if forwarder != nil {
		drainer = &drain.Node{Name: forwarder.node.Name(), Leave: forwarder.node.Leave, Door: srv, Registry: registry, StopAccepting: !activated}
	}
	var httpSrv *http.Server
	var webHandler http.Handler
	var webGuests web.Live
	if httpL != nil {
		webHandler = web.New(cfg, web.Options{
			Registry:     registry,
			Viewer:       viewer.Config{InputRate: cfg.Limits.GuestInputRate, Metrics: m, WriteTimeout: cfg.Limits.GuestWriteTimeout},
			Metrics:      m,
			Audit:        trail,
			Live:         &webGuests,
			PingInterval: cfg.Limits.KeepaliveInterval,
			Log:          log,

			TokenRefusals: srv, // one per-address slow-down for both doors
			Forwarder:     webForwarder(forwarder),
			Draining:      drainingFunc(drainer),
		})
		httpSrv = web.NewServer(webHandler, 0, log)
		httpL = web.Listener(httpL, cfg.Limits.WebConnectionsPerAddress, cfg.Web.ProxyProtocol, log)
		if cfg.Web.TLSCert != "" {
			cert, err := tls.LoadX509KeyPair(cfg.Web.TLSCert, cfg.Web.TLSKey)
			if err != nil {
				return fmt.Errorf("[web] tls_cert/tls_key: %w", err)
			}
			httpSrv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
			httpL = tls.NewListener(httpL, httpSrv.TLSConfig)
		}
		go func() {
			if err := httpSrv.Serve(httpL); !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}()
	}
	if forwarder != nil {
		forwarder.refusals = srv
		stopLinks, err := serveNodeLinks(cfg, keys, srv, webHandler, log, errc)
		if err != nil {
			return err
		}
		defer stopLinks()
	}
	if adminL == nil && cfg.Admin.Socket != "" {
		// Not socket-activated: the relay makes the socket itself. A relay
		// that cannot still serves its hosts and guests.
		if adminL, err = admin.Listen(cfg.Admin.Socket); err != nil {
			log.Warn("no admin socket", "err", err)
		}
	}
	if adminL != nil {
		defer adminL.Close()
		go (&admin.Server{Registry: registry, Auth: admin.NewAuthorizer(), Log: log, Audit: trail, Drainer: adminDrainer(drainer)}).Serve(adminL)
	}
	log.Info("relay ready", readyAttrs(cfg, sshL, httpL, adminL)...)
	daemon.SdNotify(false, daemon.SdNotifyReady)
	stopWatchdog := watchdog()
	defer stopWatchdog()
	if httpSrv != nil && cfg.Repo.Enabled {
		defer startRepo(cfg, m, log)() // the signed apt/yum repositories /apt/, /yum/
	}

wait:
	for {
		select {
		case s := <-sig:
			if s == syscall.SIGHUP { // logrotate moved the audit file away
				// Off this loop: a stalled disk must not hold up SIGTERM.
				go func() {
					if trail.Reopen() == nil && cfg.Audit.File != "" {
						log.Info("audit file reopened", "file", cfg.Audit.File)
					}
				}()
				continue
			}
			log.Info("stopping", "signal", s.String())
			break wait
		case err := <-errc:
			log.Error("listener failed", "err", err)
			return err
		}
	}
	daemon.SdNotify(false, daemon.SdNotifyStopping)
	if forwarder != nil {
		// Its sessions are forgotten first: their hosts, reconnecting
		// through the load balancer to other nodes, get them there at once.
		forwarder.node.Leave()
	}
	notice := stopNotice(log)
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if httpSrv != nil {
		httpSrv.Shutdown(ctx)
	}
	if metricsSrv != nil {
		metricsSrv.Shutdown(ctx)
	}
	if err := srv.ShutdownWith(ctx, notice); err != nil {
		log.Warn("connections did not end in time", "err", err)
	}
	// The sessions have ended: their browser guests leave, and are
	// recorded, before the audit trail closes.
	if err := webGuests.Wait(ctx); err != nil {
		log.Warn("browser guests did not end in time", "err", err, "guests", webGuests.Count())
	}
	stopRecorder() // the recordings of sessions still running say the relay stopped
	log.Info("stopped")
	return nil
}

// readyAttrs are the "relay ready" log line's fields: where the relay
// listens and the addresses hosts and browsers are given.
func readyAttrs(cfg *config.Config, sshL, httpL, adminL net.Listener) []any {
	attrs := []any{"ssh", sshL.Addr().String(), "advertise", fmt.Sprintf("%s:%d", cfg.AdvertiseHost(), cfg.SSH.AdvertisePort)}
	if httpL != nil {
		attrs = append(attrs, "web", httpL.Addr().String(), "web_url", cfg.WebURL())
	}
	if adminL != nil {
		attrs = append(attrs, "admin", adminL.Addr().String())
	}
	return attrs
}

// serveMetrics serves m at /metrics on addr ([metrics] listen; "" serves
// nothing and returns nil). The relay listens itself, also under socket
// activation.
func serveMetrics(addr string, m *metrics.Metrics, log *slog.Logger, errc chan<- error) (*http.Server, error) {
	if addr == "" {
		return nil, nil
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics listener ([metrics] listen): %w", err)
	}
	log.Info("metrics listening", "metrics", l.Addr().String())
	return serveMetricsOn(l, m, log, errc), nil
}

// serveMetricsOn serves m at /metrics on l, with the web side's timeouts;
// a failed accept is waited out, never the end of the relay.
func serveMetricsOn(l net.Listener, m *metrics.Metrics, log *slog.Logger, errc chan<- error) *http.Server {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	srv := web.NewServer(mux, 0, log)
	go func() {
		if err := srv.Serve(accept.Retrying(l, "metrics", log)); !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
	}()
	return srv
}

// listeners takes the sockets systemd passed (named ssh, http and admin;
// then activated is true), or listens on the configured addresses when not socket-activated (the
// admin socket is then left to the caller: nil).
func listeners(cfg *config.Config) (sshL, httpL, adminL net.Listener, activated bool, err error) {
	named, err := activation.ListenersWithNames()
	if err != nil {
		return nil, nil, nil, false, fmt.Errorf("socket activation: %w", err)
	}
	if len(named) > 0 {
		if l := named["ssh"]; len(l) > 0 {
			sshL = l[0]
		}
		if l := named["http"]; len(l) > 0 {
			httpL = l[0]
		}
		if l := named["admin"]; len(l) > 0 {
			adminL = l[0]
		}
		if sshL == nil {
			return nil, nil, nil, false, errors.New("socket activation passed no socket named \"ssh\" (FileDescriptorName=ssh)")
		}
		return sshL, httpL, adminL, true, nil
	}
	sshL, err = net.Listen("tcp", cfg.SSH.Listen)
	if err != nil {
		return nil, nil, nil, false, fmt.Errorf("ssh listener: %w", err)
	}
	if cfg.Web.Listen != "" {
		httpL, err = net.Listen("tcp", cfg.Web.Listen)
		if err != nil {
			sshL.Close()
			return nil, nil, nil, false, fmt.Errorf("web listener: %w", err)
		}
	}
	return sshL, httpL, nil, false, nil
}

// watchdog pings systemd's watchdog at half its interval when enabled.
func watchdog() (stop func()) {
	interval, err := daemon.SdWatchdogEnabled(false)
	if err != nil || interval == 0 {
		return func() {}
	}
	t := time.NewTicker(interval / 2)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-t.C:
				daemon.SdNotify(false, daemon.SdNotifyWatchdog)
			case <-done:
				return
			}
		}
	}()
	return func() { t.Stop(); close(done) }
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	l.UnmarshalText([]byte(level))
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

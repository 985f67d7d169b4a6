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
	"tmate-relay/service/config"
	"tmate-relay/service/hostkey"
	"tmate-relay/service/metrics"
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
	keys, err := hostkey.Load(cfg.SSH.HostKeysDir)
	if err != nil {
		return err
	}
	sshL, httpL, err := listeners(cfg)
	if err != nil {
		return err
	}

	registry := session.NewRegistry(cfg.Limits.MaxSessions)
	registry.SetPolicy(session.Policy{RequireGuestKeys: cfg.Guests.RequireAuthorizedKeys, APIKeys: cfg.Sessions.APIKeys})
	reconnectKey, err := session.LoadReconnectKey(packaging.StateDir(cfg))
	if err != nil {
		return fmt.Errorf("reconnection key: %w", err)
	}
	registry.SetReconnector(session.NewReconnector(reconnectKey, cfg.Sessions.ReconnectWindow))
	m := metrics.New(registry, version)
	webURL := "" // hosts hear of browser pages only when public_url says where they are
	if httpL != nil && cfg.Web.PublicURL != "" {
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
		},
		Limits:              protocol.Limits{MaxMessageBytes: cfg.Limits.MaxMessageSize, MaxPanes: cfg.Limits.MaxPanes},
		GracePeriod:         cfg.Limits.GracePeriod,
		KeepAlive:           cfg.Limits.KeepaliveInterval,
		Log:                 log,
		HostAuthorizedKeys:  cfg.Hosts.AuthorizedKeys,
		InputRate:           cfg.Limits.GuestInputRate,
		TokenFailures:       cfg.Limits.TokenFailures,
		FailureWindow:       cfg.Limits.TokenFailureWindow,
		UnauthenticatedConn: cfg.Limits.UnauthenticatedPerAddress,
		UnauthenticatedMax:  cfg.Limits.UnauthenticatedPerAddressMax,
		HostReadyTimeout:    cfg.Limits.HostReadyTimeout,
		SessionsPerAddress:  cfg.Limits.SessionsPerAddress,
		ProxyProtocol:       cfg.SSH.ProxyProtocol,
		Metrics:             m,
	})
	if err != nil {
		return err
	}
	errc := make(chan error, 3)
	metricsSrv, err := serveMetrics(cfg.Metrics.Listen, m, log, errc)
	if err != nil {
		return err
	}
	go func() { errc <- srv.Serve(sshL) }()
	var httpSrv *http.Server
	if httpL != nil {
		httpSrv = web.NewServer(web.New(cfg, web.Options{
			Registry:     registry,
			Viewer:       viewer.Config{InputRate: cfg.Limits.GuestInputRate, Metrics: m},
			Metrics:      m,
			PingInterval: cfg.Limits.KeepaliveInterval,
			Log:          log,

			TokenRefusals: srv, // one per-address slow-down for both doors
		}), 0, log)
		httpL = web.Listener(httpL, cfg.Limits.WebConnectionsPerAddress, log)
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
	log.Info("relay ready", readyAttrs(cfg, sshL, httpL)...)
	daemon.SdNotify(false, daemon.SdNotifyReady)
	stopWatchdog := watchdog()
	defer stopWatchdog()
	if httpSrv != nil && cfg.Repo.Enabled {
		defer startRepo(cfg, m, log)() // the signed apt/yum repositories /apt/, /yum/
	}

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	select {
	case s := <-sig:
		log.Info("stopping", "signal", s.String())
	case err := <-errc:
		log.Error("listener failed", "err", err)
		return err
	}
	daemon.SdNotify(false, daemon.SdNotifyStopping)
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if httpSrv != nil {
		httpSrv.Shutdown(ctx)
	}
	if metricsSrv != nil {
		metricsSrv.Shutdown(ctx)
	}
	if err := srv.Shutdown(ctx); err != nil {
		log.Warn("connections did not end in time", "err", err)
	}
	log.Info("stopped")
	return nil
}

// readyAttrs are the "relay ready" log line's fields: where the relay
// listens and the addresses hosts and browsers are given.
func readyAttrs(cfg *config.Config, sshL, httpL net.Listener) []any {
	attrs := []any{"ssh", sshL.Addr().String(), "advertise", fmt.Sprintf("%s:%d", cfg.AdvertiseHost(), cfg.SSH.AdvertisePort)}
	if httpL != nil {
		attrs = append(attrs, "web", httpL.Addr().String(), "web_url", cfg.WebURL())
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

// listeners takes the sockets systemd passed (named ssh and http), or
// listens on the configured addresses when not socket-activated.
func listeners(cfg *config.Config) (sshL, httpL net.Listener, err error) {
	named, err := activation.ListenersWithNames()
	if err != nil {
		return nil, nil, fmt.Errorf("socket activation: %w", err)
	}
	if len(named) > 0 {
		if l := named["ssh"]; len(l) > 0 {
			sshL = l[0]
		}
		if l := named["http"]; len(l) > 0 {
			httpL = l[0]
		}
		if sshL == nil {
			return nil, nil, errors.New("socket activation passed no socket named \"ssh\" (FileDescriptorName=ssh)")
		}
		return sshL, httpL, nil
	}
	sshL, err = net.Listen("tcp", cfg.SSH.Listen)
	if err != nil {
		return nil, nil, fmt.Errorf("ssh listener: %w", err)
	}
	if cfg.Web.Listen != "" {
		httpL, err = net.Listen("tcp", cfg.Web.Listen)
		if err != nil {
			sshL.Close()
			return nil, nil, fmt.Errorf("web listener: %w", err)
		}
	}
	return sshL, httpL, nil
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

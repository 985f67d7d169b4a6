package main

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"tmate-relay/service/metrics"
	"tmate-relay/service/session"
)

// flakyListener fails its first accepts as a relay out of descriptors does.
type flakyListener struct {
	net.Listener
	failures atomic.Int32
}

func (f *flakyListener) Accept() (net.Conn, error) {
	if f.failures.Add(-1) >= 0 {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: syscall.EMFILE}
	}
	return f.Listener.Accept()
}

// The metrics listener outlives failed accepts, has the web side's
// timeouts against slow clients, and serves the relay's metrics.
func TestMetricsListener(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fl := &flakyListener{Listener: l}
	fl.failures.Store(3)
	var logs bytes.Buffer
	errc := make(chan error, 1)
	srv := serveMetricsOn(fl, metrics.New(session.NewRegistry(0), "test"), slog.New(slog.NewTextHandler(&logs, nil)), errc)
	defer srv.Close()
	if srv.ReadHeaderTimeout <= 0 || srv.IdleTimeout <= 0 {
		t.Errorf("metrics server without timeouts: ReadHeaderTimeout %v, IdleTimeout %v", srv.ReadHeaderTimeout, srv.IdleTimeout)
	}
	resp, err := http.Get("http://" + l.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `tmate_relay_sessions{state="live"} 0`) {
		t.Errorf("/metrics:\n%.500s", body)
	}
	select {
	case err := <-errc:
		t.Fatalf("a failed accept ended the metrics listener: %v", err)
	case <-time.After(10 * time.Millisecond):
	}
	if !strings.Contains(logs.String(), "listener=metrics") {
		t.Errorf("failed accepts not logged:\n%s", logs.String())
	}
}

// An empty [metrics] listen starts no listener.
func TestNoMetricsListener(t *testing.T) {
	srv, err := serveMetrics("", metrics.New(session.NewRegistry(0), "test"), slog.Default(), make(chan error, 1))
	if srv != nil || err != nil {
		t.Errorf("listen = \"\": %v, %v", srv, err)
	}
}

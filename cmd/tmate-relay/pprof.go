package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
)

// pprofEnv names the loopback address (127.0.0.1:PORT) on which `serve`
// offers Go's profiles (/debug/pprof/), to find where a relay under load
// spends its CPU and memory. Unset, as in the packages' units, nothing is
// served.
const pprofEnv = "TMATE_RELAY_PPROF"

// servePprof serves the profiles on addr ($TMATE_RELAY_PPROF; "" serves
// nothing) and returns where; an address that is not loopback is refused,
// as the profiles show what sessions hold.
func servePprof(addr string, log *slog.Logger) (at net.Addr, stop func(), err error) {
	if addr == "" {
		return nil, func() {}, nil
	}
	host, _, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		return nil, nil, fmt.Errorf("%s=%q: give a loopback address and port, such as 127.0.0.1:6060", pprofEnv, addr)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", pprofEnv, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux}
	go func() {
		if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
			log.Warn("profiles no longer served", "err", err)
		}
	}()
	log.Warn("serving Go profiles", "pprof", l.Addr().String(), "env", pprofEnv)
	return l.Addr(), func() { srv.Close() }, nil
}

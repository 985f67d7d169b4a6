package main

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

// TestPprofOnlyOnLoopback checks that the profiles are served only when
// asked for, and only on a loopback address.
func TestPprofOnlyOnLoopback(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tc := range []struct {
		addr    string
		serves  bool
		refused bool
	}{
		{"", false, false},
		{"127.0.0.1:0", true, false},
		{"[::1]:0", true, false},
		{"0.0.0.0:0", false, true},
		{"192.0.2.1:6060", false, true},
		{"localhost:6060", false, true}, // a name could resolve anywhere
		{"6060", false, true},
	} {
		at, stop, err := servePprof(tc.addr, log)
		if tc.refused {
			if err == nil || !strings.Contains(err.Error(), pprofEnv) {
				t.Errorf("%q: err %v, want a refusal naming %s", tc.addr, err, pprofEnv)
			}
			continue
		}
		if err != nil {
			if strings.HasPrefix(tc.addr, "[::1]") && strings.Contains(err.Error(), "assign") {
				continue // no IPv6 loopback here
			}
			t.Fatalf("%q: %v", tc.addr, err)
		}
		if (at != nil) != tc.serves {
			t.Errorf("%q: serving at %v, want serving %v", tc.addr, at, tc.serves)
		}
		if at != nil {
			resp, err := http.Get("http://" + at.String() + "/debug/pprof/")
			if err != nil {
				t.Fatalf("%q: %v", tc.addr, err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("%q: /debug/pprof/ answered %s", tc.addr, resp.Status)
			}
		}
		stop()
	}
}

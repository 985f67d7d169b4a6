package config

import (
	"net"
	"strconv"
	"testing"
)

// The default ports are ones browsers reach: 10080, the web port before,
// made every printed web link fail with net::ERR_UNSAFE_PORT.
func TestDefaultPortsAreNotBadPorts(t *testing.T) {
	for _, addr := range []string{DefaultWebListen, DefaultSSHListen, "0.0.0.0:" + strconv.Itoa(Default().SSH.AdvertisePort)} {
		_, p, err := net.SplitHostPort(addr)
		if err != nil {
			t.Fatal(err)
		}
		port, _ := strconv.Atoi(p)
		if BrowsersRefusePort(port) {
			t.Errorf("default %s: browsers refuse port %d", addr, port)
		}
	}
	if got := Default().WebURLPortRefused(); got != 0 {
		t.Errorf("the default web URL %s has a port browsers refuse", Default().WebURL())
	}
}

func TestBrowsersRefusePort(t *testing.T) {
	for _, tc := range []struct {
		port int
		want bool
	}{
		{0, true}, {22, true}, {6000, true}, {6566, true}, {6679, true}, {10080, true},
		{80, false}, {443, false}, {8080, false}, {10022, false}, {10081, false}, {65535, false},
	} {
		if got := BrowsersRefusePort(tc.port); got != tc.want {
			t.Errorf("BrowsersRefusePort(%d) = %v, want %v", tc.port, got, tc.want)
		}
	}
}

func TestWebURLPortRefused(t *testing.T) {
	for _, tc := range []struct {
		doc  string
		want int
	}{
		{"", 0},
		{"[web]\nlisten = \"0.0.0.0:10080\"\n", 10080},
		{"[web]\nlisten = \"0.0.0.0:10080\"\npublic_url = \"https://relay.example.com\"\n", 0},
		{"[web]\npublic_url = \"http://relay.example.com:6667/\"\n", 6667},
		{"[web]\npublic_url = \"http://relay.example.com:10081\"\n", 0},
		{"[web]\nlisten = \"0.0.0.0:80\"\n", 0},
	} {
		c, err := Parse("relay.toml", "[ssh]\nadvertise_host = \"relay.example.com\"\n"+tc.doc)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.WebURLPortRefused(); got != tc.want {
			t.Errorf("%q: WebURLPortRefused() = %d (%s), want %d", tc.doc, got, c.WebURL(), tc.want)
		}
	}
}

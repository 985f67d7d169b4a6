package config

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func writeFile(t *testing.T, doc string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "relay.toml")
	if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		line int    // line the error must name
		want string // text the message must contain
	}{
		// Syntax and type errors (from the toml package).
		{"syntax", "[ssh]\nlisten = \"0.0.0.0:1\"\nadvertise_port = = 3\n", 3, ""},
		{"unterminated string", "[web]\n\nlisten = \"0.0.0.0:1\n", 3, ""},
		{"duplicate key", "[ssh]\nlisten = \"a:1\"\nlisten = \"b:1\"\n", 3, "listen"},
		{"duplicate table", "[ssh]\n[web]\n[ssh]\n", 3, "ssh"},
		{"int where string", "[ssh]\n# c\nlisten = 10022\n", 3, "ssh.listen has type integer, want string"},
		{"string where int", "[ssh]\nadvertise_port = \"10022\"\n", 2, "ssh.advertise_port has type string, want integer"},
		{"table where value", "ssh = 3\n", 1, "ssh"},
		{"float where int", "[limits]\nmax_panes = 1.5\n", 2, "limits.max_panes"},
		{"bad duration string", "[limits]\n\n\ngrace_period = \"20 seconds\"\n", 4, "20 seconds"},
		{"duration as integer", "[limits]\ngrace_period = 20\n", 2, "grace_period must be a duration string"},

		// Unknown keys.
		{"unknown key", "[ssh]\nlisten = \"0.0.0.0:1\"\nlisten_addr = \"x\"\n", 3, `unknown key "listen_addr" in [ssh]`},
		{"unknown table", "[ssh]\nlisten = \"0.0.0.0:1\"\n\n[sssh]\nlisten = \"x\"\n", 4, `unknown key "sssh"`},
		{"unknown key in unknown table", "[sssh]\n\nlisten = \"x\"\n", 1, `unknown key "sssh"`},
		{"unknown top-level key", "# comment\nverbose = true\n", 2, `unknown key "verbose"`},
		{"unknown dotted key", "ssh.listen = \"0.0.0.0:1\"\nssh.lisen = \"0.0.0.0:1\"\n", 2, `unknown key "lisen" in [ssh]`},
		{"unknown key after multi-line array", "[x]\na = [\n  1,\n  2,\n]\n", 1, `unknown key "x"`},
		{"unknown quoted key", "[limits]\n\"max panes\" = 3\n", 2, `unknown key "max panes" in [limits]`},

		// [ssh]
		{"proxy_protocol as string", "[ssh]\nproxy_protocol = \"yes\"\n", 2, "ssh.proxy_protocol has type string, want boolean"},
		{"advertise_port too big", "[ssh]\nadvertise_port = 65536\n", 2, "advertise_port 65536 is out of range 1..65535"},
		{"advertise_port negative", "[ssh]\n\nadvertise_port = -1\n", 3, "advertise_port -1 is out of range"},
		{"listen without port", "[ssh]\nlisten = \"0.0.0.0\"\n", 2, `listen "0.0.0.0" is not HOST:PORT: missing port in address`},
		{"listen port too big", "[ssh]\nlisten = \"127.0.0.1:99999\"\n", 2, `ssh.listen "127.0.0.1:99999": port 99999 is out of range 0..65535`},
		{"listen port not a number", "[ssh]\nlisten = \"0.0.0.0:ssh-port\"\n", 2, `ssh.listen "0.0.0.0:ssh-port": port "ssh-port" is not a number`},
		{"listen bad host", "[ssh]\nlisten = \"foo_bar!:22\"\n", 2, `"foo_bar!" is not a host name or IP address`},
		{"advertise_host with scheme", "[ssh]\nadvertise_host = \"ssh://relay\"\n", 2, `advertise_host "ssh://relay" is not a host name or IP address`},
		{"advertise_host with space", "[ssh]\nadvertise_host = \"relay example\"\n", 2, "is not a host name"},

		// [web]
		{"web listen", "[web]\nlisten = \"10081\"\n", 2, `listen "10081" is not HOST:PORT`},
		{"metrics listen", "[metrics]\n\nlisten = \"localhost\"\n", 3, `metrics.listen "localhost" is not HOST:PORT`},
		{"web metrics not a boolean", "[web]\nmetrics = \"yes\"\n", 2, "metrics"},
		{"public_url ftp", "[web]\npublic_url = \"ftp://relay.example.com\"\n", 2, "must start with http:// or https://"},
		{"public_url no scheme", "[web]\npublic_url = \"relay.example.com:10081\"\n", 2, "must start with http:// or https://"},
		{"public_url no host", "[web]\npublic_url = \"http://\"\n", 2, "has no host"},
		{"public_url unparsable", "[web]\npublic_url = \"http://[::1\"\n", 2, "is not a URL"},
		{"public_url with query", "[web]\npublic_url = \"https://relay/?a=b\"\n", 2, "must not have a user, query or fragment"},
		{"tls_cert without key", "[web]\n\ntls_cert = \"/etc/ssl/x.pem\"\n", 3, "tls_cert is set but tls_key is not"},
		{"tls_key without cert", "[web]\ntls_key = \"/etc/ssl/x.key\"\n", 2, "tls_key is set but tls_cert is not"},
		{"tls files missing", "[web]\ntls_cert = \"/nonexistent/c.pem\"\ntls_key = \"/etc/hostname\"\n", 2, "tls_cert /nonexistent/c.pem: no such file or directory"},

		// [limits]
		{"negative max_sessions", "[limits]\nmax_sessions = -1\n", 2, "max_sessions -1 must not be negative"},
		{"negative max_guests_per_session", "[limits]\nmax_guests_per_session = -5\n", 2, "max_guests_per_session -5 must not be negative"},
		{"negative max_panes", "[limits]\nmax_panes = -1\n", 2, "max_panes -1 must not be negative"},
		{"negative guest_input_rate", "[limits]\nguest_input_rate = -1\n", 2, "guest_input_rate -1 must not be negative"},
		{"history_lines zero", "[limits]\nhistory_lines = 0\n", 2, "history_lines 0 is out of range 1..100000"},
		{"history_lines too many", "[limits]\nhistory_lines = 100001\n", 2, "history_lines 100001 is out of range"},
		{"history_lines negative", "[limits]\nhistory_lines = -3\n", 2, "history_lines -3 is out of range"},
		{"negative token_failures", "[limits]\ntoken_failures = -1\n", 2, "token_failures -1 must not be negative"},
		{"token_failure_window integer", "[limits]\ntoken_failure_window = 60\n", 2, "token_failure_window must be a duration string"},
		{"negative unauthenticated_per_address", "[limits]\n\nunauthenticated_per_address = -2\n", 3, "unauthenticated_per_address -2 must not be negative"},
		{"max_startups and an older name", "[limits]\nmax_startups = \"10:30:100\"\nunauthenticated_per_address = 10\n", 3, "unauthenticated_per_address is the older name of part of max_startups, which is set too: remove it"},
		{"max_startups with two parts", "[limits]\nmax_startups = \"10:30\"\n", 2, `max_startups "10:30": must be START:RATE:FULL, such as "10:30:100", or one number`},
		{"max_startups not a number", "[limits]\nmax_startups = \"10:x:100\"\n", 2, `max_startups "10:x:100": "x" is not a number`},
		{"max_startups full below start", "[limits]\nmax_startups = \"10:30:5\"\n", 2, `max_startups "10:30:5": full 5 must not be below start 10`},
		{"max_startups rate over 100", "[limits]\nmax_startups = \"10:130:100\"\n", 2, `max_startups "10:130:100": rate 130 must be a percentage, 1..100`},
		{"max_startups start zero", "[limits]\nmax_startups = \"0:30:100\"\n", 2, `max_startups "0:30:100": start 0 must be at least 1`},
		{"max_startups an integer", "[limits]\nmax_startups = 10\n", 2, "max_startups"},
		{"negative max_startups_total", "[limits]\nmax_startups_total = -1\n", 2, "max_startups_total -1 must not be negative"},
		{"negative sessions_per_address", "[limits]\nsessions_per_address = -1\n", 2, "sessions_per_address -1 must not be negative"},
		{"negative web_connections_per_address", "[limits]\nweb_connections_per_address = -1\n", 2, "web_connections_per_address -1 must not be negative"},
		{"negative host_output_rate", "[limits]\nhost_output_rate = -1\n", 2, "host_output_rate -1 must not be negative"},
		{"host_output_burst under one message", "[limits]\nhost_output_burst = 1000\n", 2, "host_output_burst 1000 must be at least 17408"},
		{"negative max_config_bytes", "[limits]\nmax_config_bytes = -1\n", 2, "max_config_bytes -1 must not be negative"},
		{"negative max_windows", "[limits]\nmax_windows = -2\n", 2, "max_windows -2 must not be negative"},
		{"guest_write_timeout as a bare integer", "[limits]\nguest_write_timeout = 30\n", 2, "guest_write_timeout must be a duration string"},
		{"negative host_write_timeout", "[limits]\nhost_write_timeout = \"-1s\"\n", 2, "host_write_timeout -1s must not be negative"},
		{"host_ready_timeout as a bare integer", "[limits]\nhost_ready_timeout = 30\n", 2, "host_ready_timeout must be a duration string"},
		{"hosts authorized_keys missing", "[hosts]\nauthorized_keys = \"/nonexistent/keys\"\n", 2, "authorized_keys /nonexistent/keys: no such file or directory"},
		{"empty api key", "[sessions]\napi_keys = [\"ok\", \"\"]\n", 2, "api_keys[1] must be a non-empty string"},
		{"api key with space", "[sessions]\napi_keys = [\"a b\"]\n", 2, "api_keys[0] must be a non-empty string without spaces"},
		{"reconnect_window integer", "[sessions]\nreconnect_window = 300\n", 2, "reconnect_window must be a duration string"},
		{"reconnect_window negative", "[sessions]\nreconnect_window = \"-5m\"\n", 2, "reconnect_window -5m0s must not be negative"},
		{"reconnect_window too short", "[sessions]\nreconnect_window = \"2s\"\n", 2, "reconnect_window 2s is out of range 10s..24h0m0s"},
		{"reconnect_window too long", "[sessions]\n\nreconnect_window = \"48h\"\n", 3, "reconnect_window 48h0m0s is out of range 10s..24h0m0s"},
		{"reconnect_window not a duration", "[sessions]\nreconnect_window = \"soon\"\n", 2, "reconnect_window"},
		{"require_authorized_keys string", "[guests]\nrequire_authorized_keys = \"yes\"\n", 2, "require_authorized_keys"},
		{"max_message_size negative", "[limits]\nmax_message_size = -1\n", 2, "max_message_size -1 must be 0"},
		{"max_message_size tiny", "[limits]\nmax_message_size = 100\n", 2, "at least 17408"},
		{"negative grace_period", "[limits]\ngrace_period = \"-1s\"\n", 2, "grace_period -1s must not be negative"},
		{"negative keepalive_interval", "[limits]\n keepalive_interval = \"-5m\"\n", 2, "keepalive_interval -5m0s must not be negative"},

		// [log]
		{"log level", "[log]\nlevel = \"verbose\"\n", 2, `level "verbose" is not one of debug, info, warn, error`},

		// [audit]
		{"audit format", "[audit]\nformat = \"xml\"\n", 2, `format "xml" is not one of text, json`},
		{"audit format capitals", "[audit]\n\nformat = \"JSON\"\n", 3, `format "JSON" is not one of text, json`},
		{"audit file a directory", "[audit]\nfile = \"/tmp\"\n", 2, "file /tmp is a directory, not a file"},
		{"audit file not a string", "[audit]\nfile = true\n", 2, "audit.file has type boolean, want string"},

		// [repo]
		{"repo enabled not a boolean", "[repo]\nenabled = \"yes\"\n", 2, "repo.enabled has type string, want boolean"},
		{"repo packages_dir not a string", "[repo]\n\npackages_dir = 3\n", 3, "repo.packages_dir has type integer, want string"},
		{"repo valid_for as integer", "[repo]\nvalid_for = 7\n", 2, "valid_for must be a duration string"},
		{"repo valid_for negative", "[repo]\nvalid_for = \"-1h\"\n", 2, "valid_for -1h0m0s must not be negative"},
		{"repo valid_for too short", "[repo]\nvalid_for = \"10m\"\n", 2, "valid_for 10m0s is shorter than 1h0m0s"},
		{"repo unknown key", "[repo]\nsuite = \"x\"\n", 2, `unknown key "suite" in [repo]`},

		// [cluster]
		{"cluster without endpoints", "[cluster]\nnode_name = \"a\"\n", 1, "etcd_endpoints must list etcd's client URLs"},
		{"cluster endpoints not a list", "[cluster]\netcd_endpoints = \"http://e:2379\"\n", 2, "cluster.etcd_endpoints has type string, want"},
		{"cluster endpoint without scheme", "[cluster]\netcd_endpoints = [\"e:2379\"]\n", 2, `etcd_endpoints[0] "e:2379" must start with http:// or https://`},
		{"cluster endpoint without port", "[cluster]\n\netcd_endpoints = [\"http://e\"]\n", 3, `etcd_endpoints[0] "http://e" must name a host and a port`},
		{"cluster endpoint with path", "[cluster]\netcd_endpoints = [\"http://e:2379/v3\"]\n", 2, "must be only scheme://host:port"},
		{"cluster endpoints mixed", "[cluster]\netcd_endpoints = [\"http://e:2379\", \"https://f:2379\"]\n", 2, "etcd_endpoints mix http:// and https://"},
		{"cluster TLS over http", "[cluster]\netcd_endpoints = [\"http://e:2379\"]\netcd_ca = \"/\"\n", 3, "etcd_ca is set but etcd_endpoints use http://"},
		{"cluster ca missing", "[cluster]\netcd_endpoints = [\"https://e:2379\"]\netcd_ca = \"/nonexistent/ca.pem\"\n", 3, "etcd_ca /nonexistent/ca.pem: no such file or directory"},
		{"cluster cert without key", "[cluster]\netcd_endpoints = [\"https://e:2379\"]\netcd_cert = \"/\"\n", 3, "etcd_cert is set but etcd_key is not"},
		{"cluster node_name", "[cluster]\netcd_endpoints = [\"http://e:2379\"]\nnode_name = \"a/b\"\n", 3, `node_name "a/b" must be 1 to 63 letters`},
		{"cluster internal_listen", "[cluster]\netcd_endpoints = [\"http://e:2379\"]\ninternal_listen = \"x\"\n", 3, `cluster.internal_listen "x" is not HOST:PORT`},
		{"cluster internal_advertise", "[cluster]\netcd_endpoints = [\"http://e:2379\"]\ninternal_advertise = \"n1:0\"\n", 3, `internal_advertise "n1:0" must be HOST:PORT`},
		{"cluster lease_ttl too short", "[cluster]\netcd_endpoints = [\"http://e:2379\"]\nlease_ttl = \"1s\"\n", 3, "lease_ttl 1s is out of range 2s..5m0s"},
		{"cluster lease_ttl integer", "[cluster]\netcd_endpoints = [\"http://e:2379\"]\nlease_ttl = 10\n", 3, "lease_ttl must be a duration string"},
		{"cluster unknown key", "[cluster]\netcd_endpoints = [\"http://e:2379\"]\netcd_prefix = \"/x\"\n", 3, `unknown key "etcd_prefix" in [cluster]`},

		// Keys found through inline tables and dotted keys.
		{"inline table", "ssh = { listen = \"nope\" }\n", 1, `listen "nope" is not HOST:PORT`},
		{"dotted key", "\nlimits.max_panes = -2\n", 2, "max_panes -2 must not be negative"},
		{"quoted table and key", "[\"limits\"]\n'max_panes' = -2\n", 2, "max_panes -2 must not be negative"},
		{"table after comment with brackets", "# [ssh]\n[ssh] # [web]\n\nadvertise_port = 0\nlisten = \"x\"\n", 5, `listen "x"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, tc.doc)
			_, err := Load(p)
			if err == nil {
				t.Fatalf("Load accepted:\n%s", tc.doc)
			}
			msg := err.Error()
			if n := strings.Count(msg, "\n"); n != 0 {
				t.Errorf("want one problem, got %d lines:\n%s", n+1, msg)
			}
			prefix := p + ":" + strconv.Itoa(tc.line) + ": "
			if !strings.HasPrefix(msg, prefix) {
				t.Errorf("error %q\ndoes not start with %q", msg, prefix)
			}
			if !strings.Contains(msg, tc.want) {
				t.Errorf("error %q\ndoes not contain %q", msg, tc.want)
			}
		})
	}
}

func TestLoadReportsEveryProblemInLineOrder(t *testing.T) {
	doc := "[limits]\nmax_panes = -1\n[ssh]\nbogus = 1\nadvertise_port = 70000\n"
	p := writeFile(t, doc)
	_, err := Load(p)
	if err == nil {
		t.Fatal("accepted")
	}
	got := strings.Split(err.Error(), "\n")
	want := []string{
		p + ":2: max_panes -1 must not be negative",
		p + `:4: unknown key "bogus" in [ssh]`,
		p + ":5: advertise_port 70000 is out of range 1..65535",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.toml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("got %v, want a not-exist error", err)
	}
}

func TestEmptyFileIsDefault(t *testing.T) {
	c, err := Load(writeFile(t, "# nothing\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, Default()) {
		t.Errorf("empty file gives\n%+v\nwant\n%+v", c, Default())
	}
}

func TestZeroMeansDefault(t *testing.T) {
	doc := `
[ssh]
listen = ""
advertise_port = 0
host_keys_dir = ""
[web]
listen = ""
[limits]
max_sessions = 0
max_guests_per_session = 0
max_panes = 0
max_message_size = 0
guest_input_rate = 0
grace_period = "0s"
keepalive_interval = "0s"
[sessions]
reconnect_window = "0s"
[log]
level = ""
[repo]
packages_dir = ""
valid_for = "0s"
`
	c, err := Load(writeFile(t, doc))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, Default()) {
		t.Errorf("zeros give\n%+v\nwant\n%+v", c, Default())
	}
}

// [metrics] listen is the one key where "" is not the default: an absent
// key means 127.0.0.1:10090, an empty one no metrics listener.
func TestMetricsListen(t *testing.T) {
	for _, tc := range []struct{ name, doc, want string }{
		{"absent", "[ssh]\n", DefaultMetricsListen},
		{"table without key", "[metrics]\n", DefaultMetricsListen},
		{"empty: off", "[metrics]\nlisten = \"\"\n", ""},
		{"set", "[metrics]\nlisten = \"0.0.0.0:9100\"\n", "0.0.0.0:9100"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("relay.toml", tc.doc)
			if err != nil {
				t.Fatal(err)
			}
			if c.Metrics.Listen != tc.want {
				t.Errorf("listen = %q, want %q", c.Metrics.Listen, tc.want)
			}
		})
	}
}

func TestAudit(t *testing.T) {
	for _, tc := range []struct{ name, doc, format, file string }{
		{"absent", "[ssh]\n", DefaultAuditFormat, ""},
		{"json", "[audit]\nformat = \"json\"\n", "json", ""},
		{"absolute file", "[audit]\nfile = \"/var/log/tmate-relay/audit.log\"\n", DefaultAuditFormat, "/var/log/tmate-relay/audit.log"},
		{"relative file", "[audit]\nfile = \"audit.log\"\n", DefaultAuditFormat, "/etc/tmate-relay/audit.log"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("/etc/tmate-relay/relay.toml", tc.doc)
			if err != nil {
				t.Fatal(err)
			}
			if c.Audit.Format != tc.format || c.Audit.File != tc.file {
				t.Errorf("[audit] = %+v, want format %q file %q", c.Audit, tc.format, tc.file)
			}
		})
	}
}

func TestValues(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "relay.toml")
	doc := `
[ssh]
listen = "127.0.0.1:2222"
advertise_host = "relay.example.com"
host_keys_dir = "keys"
proxy_protocol = true
[web]
listen = "[::1]:8080"
public_url = "https://relay.example.com/"
metrics = true
proxy_protocol = true
[metrics]
listen = "[::1]:9100"
[limits]
max_sessions = 5
max_guests_per_session = 6
max_readonly_guests_per_session = 8
max_panes = 7
history_lines = 100000
max_session_cells = 1000000
max_relay_cells = 20000000
max_message_size = 1048576
guest_input_rate = 1000
grace_period = "1m30s"
keepalive_interval = "10s"
token_failures = 3
token_failure_window = "10s"
max_startups = "4:50:12"
max_startups_total = 40
host_ready_timeout = "5s"
sessions_per_address = 8
web_connections_per_address = 9
host_output_rate = 1000000
host_output_burst = 2000000
guest_write_timeout = "5s"
host_write_timeout = "7s"
max_windows = 11
max_config_bytes = 12345
[hosts]
authorized_keys = "hosts_keys"
[guests]
require_authorized_keys = true
[sessions]
api_keys = ["k1", "k2"]
reconnect_window = "30s"
[log]
level = "DEBUG"
[repo]
enabled = false
packages_dir = "dist"
valid_for = "24h"
[admin]
socket = "admin.sock"
[audit]
format = "json"
file = "audit.log"
`
	if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "hosts_keys"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		SSH: SSH{
			Listen:        "127.0.0.1:2222",
			AdvertiseHost: "relay.example.com",
			AdvertisePort: 2222, // from listen
			HostKeysDir:   filepath.Join(dir, "keys"),
			ProxyProtocol: true,
		},
		Web:     Web{Listen: "[::1]:8080", PublicURL: "https://relay.example.com", Metrics: true, ProxyProtocol: true},
		Metrics: Metrics{Listen: "[::1]:9100"},
		Limits: Limits{
			MaxSessions:         5,
			MaxGuestsPerSession: 6,
			MaxPanes:            7,
			HistoryLines:        100000,
			MaxSessionCells:     1000000,
			MaxRelayCells:       20000000,
			MaxMessageSize:      1 << 20,
			GuestInputRate:      1000,
			GracePeriod:         90 * time.Second,
			KeepaliveInterval:   10 * time.Second,

			TokenFailures:            3,
			TokenFailureWindow:       10 * time.Second,
			MaxStartups:              "4:50:12",
			Startups:                 Startups{Start: 4, Rate: 50, Full: 12},
			MaxStartupsTotal:         40,
			HostReadyTimeout:         5 * time.Second,
			SessionsPerAddress:       8,
			WebConnectionsPerAddress: 9,
			HostOutputRate:           1000000,
			HostOutputBurst:          2000000,
			GuestWriteTimeout:        5 * time.Second,
			HostWriteTimeout:         7 * time.Second,
			MaxWindows:               11,
			MaxConfigBytes:           12345,

			MaxReadOnlyGuestsPerSession: 8,
		},
		Hosts:    Hosts{AuthorizedKeys: filepath.Join(dir, "hosts_keys")},
		Guests:   Guests{RequireAuthorizedKeys: true},
		Sessions: Sessions{APIKeys: []string{"k1", "k2"}, ReconnectWindow: 30 * time.Second},
		Log:      Log{Level: "debug"},
		Repo:     Repo{Enabled: false, PackagesDir: filepath.Join(dir, "dist"), ValidFor: 24 * time.Hour},
		Admin:    Admin{Socket: filepath.Join(dir, "admin.sock")},
		Audit:    Audit{Format: "json", File: filepath.Join(dir, "audit.log")},

		Recording: Default().Recording,
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got\n%+v\nwant\n%+v", c, want)
	}
	if got := c.AdvertiseHost(); got != "relay.example.com" {
		t.Errorf("AdvertiseHost() = %q", got)
	}
	if got := c.WebURL(); got != "https://relay.example.com" {
		t.Errorf("WebURL() = %q", got)
	}
}

func TestShippedConfigLoads(t *testing.T) {
	p := filepath.Join("..", "..", "etc", "tmate-relay", "relay.toml")
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, Default()) {
		t.Errorf("shipped relay.toml differs from Default():\n%+v\nwant\n%+v", c, Default())
	}
	// Every key of the schema is present in the shipped file, so that it
	// documents them all.
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	lines := scanKeyLines(string(data))
	for _, key := range schemaKeys(reflect.TypeOf(Config{}), nil) {
		if key[0] == "cluster" {
			// Shipped commented out: a relay stands alone by default.
			if !strings.Contains(string(data), "\n#"+key[1]+" = ") {
				t.Errorf("shipped relay.toml lacks a commented %s", joinKey(key))
			}
			continue
		}
		if slices.Contains(olderNames, key[len(key)-1]) {
			continue
		}
		if _, ok := lines[joinKey(key)]; !ok {
			t.Errorf("shipped relay.toml lacks %s", joinKey(key))
		}
	}
	// Uncommented, the [cluster] example loads.
	clustered := strings.NewReplacer("\n#[cluster]", "\n[cluster]", "\n#node_name", "\nnode_name", "\n#internal", "\ninternal", "\n#lease_ttl", "\nlease_ttl").Replace(string(data))
	clustered = strings.Replace(clustered, "#etcd_endpoints", "etcd_endpoints", 1)
	if c, err := Parse(p, clustered); err != nil {
		t.Errorf("the shipped [cluster] example: %v", err)
	} else if !c.Cluster.Enabled || len(c.Cluster.EtcdEndpoints) != 3 || c.Cluster.LeaseTTL != DefaultLeaseTTL {
		t.Errorf("the shipped [cluster] example reads %+v", c.Cluster)
	}
}

// schemaKeys lists the toml keys of every leaf field of t.
func schemaKeys(t reflect.Type, prefix []string) [][]string {
	var keys [][]string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if tag := f.Tag.Get("toml"); tag == "" || tag == "-" {
			continue // not in the file
		}
		k := append(append([]string{}, prefix...), f.Tag.Get("toml"))
		if f.Type.Kind() == reflect.Struct {
			keys = append(keys, schemaKeys(f.Type, k)...)
		} else {
			keys = append(keys, k)
		}
	}
	return keys
}

func TestFQDN(t *testing.T) {
	defer func(h func() (string, error), l func(string) (string, error)) { hostname, lookupCNAME = h, l }(hostname, lookupCNAME)
	hostname = func() (string, error) { return "vm", nil }
	lookupCNAME = func(h string) (string, error) { return "vm.corp.example.com.", nil }
	if got := FQDN(); got != "vm.corp.example.com" {
		t.Errorf("FQDN() = %q with a canonical name", got)
	}
	lookupCNAME = func(h string) (string, error) { return "", errors.New("no such host") }
	if got := FQDN(); got != "vm" {
		t.Errorf("FQDN() = %q when the lookup fails, want the host name", got)
	}
	hostname = func() (string, error) { return "", errors.New("no") }
	if got := FQDN(); got != "localhost" {
		t.Errorf("FQDN() = %q without a host name", got)
	}
	hostname = func() (string, error) { return "vm", nil }
	lookupCNAME = func(h string) (string, error) { return "vm.corp.example.com.", nil }
	c := Default()
	if got := c.AdvertiseHost(); got != "vm.corp.example.com" {
		t.Errorf("AdvertiseHost() = %q with empty advertise_host", got)
	}
	if got := c.WebURL(); got != "http://vm.corp.example.com:10081" {
		t.Errorf("WebURL() = %q", got)
	}
}

func TestFQDNReal(t *testing.T) {
	if got := FQDN(); got == "" || !validHost(got) {
		t.Errorf("FQDN() = %q", got)
	}
}

func TestLoadLinesAfterMultilineValues(t *testing.T) {
	doc := "[junk]\n" +
		"s = \"\"\"\n" +
		"[ssh]\n" +
		"bogus = 1 \\\"\"\"\n" +
		"\"\"\"\n" +
		"t = [\n" +
		"  \"[ssh]\",\n" +
		"  { bogus = 2 },\n" +
		"]\n" +
		"u = '''\n" +
		"'''\n" +
		"[ssh]\n" +
		"bogus = 3\n"
	p := writeFile(t, doc)
	_, err := Load(p)
	if err == nil {
		t.Fatal("accepted")
	}
	want := p + `:1: unknown key "junk"` + "\n" + p + `:13: unknown key "bogus" in [ssh]`
	if err.Error() != want {
		t.Errorf("got\n%s\nwant\n%s", err, want)
	}
}

// A relay.toml anyone may write is refused, naming the file and the fix;
// the packaged one (0644, root's) loads.
func TestLoadRefusesWorldWritableFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "relay.toml")
	if err := os.WriteFile(p, []byte("[ssh]\nadvertise_host = \"relay.example\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(p); err != nil {
		t.Fatalf("mode 0644: %v", err)
	}
	os.Chmod(p, 0o666)
	_, err := Load(p)
	if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "chmod o-w "+p) {
		t.Fatalf("mode 0666: %v, want a refusal naming the file and chmod o-w", err)
	}
}

func TestCluster(t *testing.T) {
	hostname = func() (string, error) { return "relay7", nil }
	t.Cleanup(func() { hostname = os.Hostname })
	dir := t.TempDir()
	for _, f := range []string{"ca.pem", "cert.pem", "key.pem"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		doc  string
		want Cluster
	}{
		{"absent: a relay on its own", "", Cluster{}},
		{"defaults", "[cluster]\netcd_endpoints = [\"http://127.0.0.1:2379\"]\n",
			Cluster{Enabled: true, EtcdEndpoints: []string{"http://127.0.0.1:2379"}, NodeName: "relay7", InternalListen: DefaultInternalListen, LeaseTTL: DefaultLeaseTTL}},
		{"every key", `[cluster]
etcd_endpoints = ["https://e1:2379", "https://e2:2379"]
etcd_ca = "ca.pem"
etcd_cert = "cert.pem"
etcd_key = "key.pem"
node_name = "node-1.eu"
internal_listen = "10.0.0.1:7000"
internal_advertise = "node1.internal:7000"
lease_ttl = "30s"
`, Cluster{Enabled: true, EtcdEndpoints: []string{"https://e1:2379", "https://e2:2379"},
			EtcdCA: filepath.Join(dir, "ca.pem"), EtcdCert: filepath.Join(dir, "cert.pem"), EtcdKey: filepath.Join(dir, "key.pem"),
			NodeName: "node-1.eu", InternalListen: "10.0.0.1:7000", InternalAdvertise: "node1.internal:7000", LeaseTTL: 30 * time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(filepath.Join(dir, "relay.toml"), tc.doc)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c.Cluster, tc.want) {
				t.Fatalf("got  %+v\nwant %+v", c.Cluster, tc.want)
			}
		})
	}
	c, _ := Parse("relay.toml", "[cluster]\netcd_endpoints = [\"http://e:2379\"]\ninternal_listen = \":7000\"\n")
	if got, want := c.InternalAdvertise(), net.JoinHostPort(FQDN(), "7000"); got != want {
		t.Errorf("InternalAdvertise %q, want %q", got, want)
	}
}

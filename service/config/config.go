// Package config reads relay.toml, the relay's one configuration file.
//
// Load fills every key that is absent (or zero) with its default, and refuses
// unknown keys, values of the wrong type and impossible values with an error
// of the form "FILE:LINE: what is wrong", one line per problem.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"tmate-relay/service/fileperm"
)

// Config is the whole of relay.toml.
type Config struct {
	SSH      SSH      `toml:"ssh"`
	Web      Web      `toml:"web"`
	Hosts    Hosts    `toml:"hosts"`
	Guests   Guests   `toml:"guests"`
	Sessions Sessions `toml:"sessions"`
	Limits   Limits   `toml:"limits"`
	Log      Log      `toml:"log"`
	Repo     Repo     `toml:"repo"`
	Admin    Admin    `toml:"admin"`
	Metrics  Metrics  `toml:"metrics"`
	Audit    Audit    `toml:"audit"`
	Cluster  Cluster  `toml:"cluster"`

	Recording Recording `toml:"recording"`

	notes []string // FILE:LINE: what the relay should warn of (Notes)
}

// Audit is the [audit] table: the audit trail of sessions, guests,
// refusals and admin requests.
type Audit struct {
	// Format is how events go to stderr when the relay does not run
	// under systemd (there they go to the journal, with fields of their
	// own): "text" or "json".
	Format string `toml:"format"`
	// File, when set, also gets every event as one JSON line, appended
	// and synced; the relay opens it again on SIGHUP (logrotate). A
	// relative path is relative to the file's directory; after Load it is
	// that joined path.
	File string `toml:"file"`
}

// AuditFormats are the accepted values of [audit] format.
var AuditFormats = []string{"text", "json"}

// Metrics is the [metrics] table: Prometheus metrics.
type Metrics struct {
	// Listen is host:port of the metrics listener, served at /metrics.
	// Absent: DefaultMetricsListen; "" in the file (unlike other keys,
	// where "" means the default): no listener. Never socket-activated:
	// the relay listens itself once started.
	Listen string `toml:"listen"`
}

// Hosts is the [hosts] table: who may host a session on the relay.
type Hosts struct {
	// AuthorizedKeys is an OpenSSH authorized_keys file; when set, a tmate
	// host must authenticate with one of its keys. Empty: anyone may host.
	// Relative to the file's directory; re-read when it changes.
	AuthorizedKeys string `toml:"authorized_keys"`
}

// Guests is the [guests] table: who may join.
type Guests struct {
	// RequireAuthorizedKeys refuses hosts that do not restrict their
	// guests to listed keys (tmate-authorized-keys).
	RequireAuthorizedKeys bool `toml:"require_authorized_keys"`
}

// Sessions is the [sessions] table: named sessions and reconnection.
type Sessions struct {
	// APIKeys, when not empty, restrict tmate-session-name and
	// tmate-session-name-ro to hosts whose tmate-api-key is listed.
	APIKeys []string `toml:"api_keys"`
	// ReconnectWindow is how long a session waits, with its guests, for a
	// host that lost its connection (or for every host after the relay
	// restarted) to come back with its tokens.
	ReconnectWindow time.Duration `toml:"reconnect_window"`
}

// SSH is the [ssh] table: the door hosts and guests come in through.
type SSH struct {
	// Listen is host:port to listen on when not socket-activated. Under
	// socket activation serve sets it to the activated socket's address,
	// so that WebURL names the port browsers can reach.
	Listen string `toml:"listen"`
	// AdvertiseHost is the name hosts and guests use to reach the relay.
	// Empty means this machine's FQDN, resolved at run time: use
	// Config.AdvertiseHost, not this field.
	AdvertiseHost string `toml:"advertise_host"`
	// AdvertisePort is the port hosts and guests use; 0 in the file means
	// the port of Listen. Always set after Load.
	AdvertisePort int `toml:"advertise_port"`
	// HostKeysDir holds ssh_host_ed25519_key and ssh_host_rsa_key. A
	// relative path in the file is relative to the file's directory; after
	// Load it is that joined path.
	HostKeysDir string `toml:"host_keys_dir"`
	// ProxyProtocol: the relay sits behind a load balancer that opens every
	// connection with a PROXY protocol header (v1 or v2) naming the client;
	// logs and per-address limits use that address. False: a connection
	// that sends such a header is refused.
	ProxyProtocol bool `toml:"proxy_protocol"`
}

// Web is the [web] table: browser guests, client configuration, repositories.
type Web struct {
	// Listen is host:port to listen on when not socket-activated. Under
	// socket activation serve sets it to the activated socket's address,
	// so that WebURL names the port browsers can reach.
	Listen string `toml:"listen"`
	// PublicURL is how browsers reach the web side, http:// or https://.
	// Empty means http://ADVERTISE_HOST:PORT-OF-LISTEN: use Config.WebURL.
	PublicURL string `toml:"public_url"`
	// TLSCert and TLSKey are PEM files; when both are set the web side
	// speaks HTTPS (browser guests then use wss://). Relative paths are
	// relative to the file's directory.
	TLSCert string `toml:"tls_cert"`
	TLSKey  string `toml:"tls_key"`
	// AllowRestrictedSessions lets browser guests join sessions whose host
	// restricts guests to SSH keys (tmate-authorized-keys); a browser
	// presents no key, so by default they are refused.
	AllowRestrictedSessions bool `toml:"allow_restricted_sessions"`
	// Metrics also serves [metrics] at /metrics of the web side, to
	// whoever reaches it.
	Metrics bool `toml:"metrics"`
	// ProxyProtocol is [ssh] proxy_protocol for the web side: every
	// connection opens with a PROXY protocol header (v1 or v2) naming the
	// client, whose address logs, per-address limits and the audit trail
	// use. False: a connection that sends such a header is refused.
	ProxyProtocol bool `toml:"proxy_protocol"`
}

// Limits is the [limits] table. Zero (or absent) means the default.
type Limits struct {
	MaxSessions         int `toml:"max_sessions"`           // live host sessions on the relay
	MaxGuestsPerSession int `toml:"max_guests_per_session"` // read-write guests (ssh + web) per session
	MaxPanes            int `toml:"max_panes"`              // panes per session
	HistoryLines        int `toml:"history_lines"`          // scrollback per pane, 1..100000
	// MaxSessionCells bounds the cells (16 bytes each) one session's
	// panes keep: screens, history, alternate screens. A layout whose
	// screens do not fit is refused; history gives way first.
	MaxSessionCells int `toml:"max_session_cells"`
	// MaxRelayCells bounds the cells all sessions keep together: no new
	// layout is admitted past it.
	MaxRelayCells int `toml:"max_relay_cells"`
	// MaxReadOnlyGuestsPerSession caps read-only guests (ssh + web) per
	// session apart from read-write ones, so a pasted read-only link
	// cannot take the read-write guests' places.
	MaxReadOnlyGuestsPerSession int `toml:"max_readonly_guests_per_session"`

	// MaxMessageSize caps one host message in bytes; 0 keeps 0, which
	// means the protocol package's own default.
	MaxMessageSize int `toml:"max_message_size"`
	// GuestInputRate caps each guest's input in bytes per second.
	GuestInputRate int `toml:"guest_input_rate"`
	// GracePeriod is how long a connection may take to authenticate (and
	// to present a known session) before it is dropped.
	GracePeriod time.Duration `toml:"grace_period"`
	// KeepaliveInterval is how often idle connections are probed.
	KeepaliveInterval time.Duration `toml:"keepalive_interval"`
	// TokenFailures is how many unknown tokens (or refused keys) one
	// address may present within TokenFailureWindow before each further
	// attempt from it is delayed, twice as long each time.
	TokenFailures      int           `toml:"token_failures"`
	TokenFailureWindow time.Duration `toml:"token_failure_window"`
	// MaxStartups is OpenSSH's MaxStartups "start:rate:full" for the
	// connections one address holds before they reach a session (a
	// guest's token names a live one; a host passes authentication): up to
	// start are admitted; beyond, a new one waits up to 10 s for a place,
	// then is dropped with a chance of rate percent, rising to 100 % at
	// full, which none exceeds. A single number N is a hard cap at N.
	// After Load, Startups holds it parsed.
	MaxStartups string   `toml:"max_startups"`
	Startups    Startups `toml:"-"`
	// MaxStartupsTotal caps those connections from all addresses
	// together; one more is closed at once.
	MaxStartupsTotal int `toml:"max_startups_total"`
	// UnauthenticatedPerAddress and UnauthenticatedPerAddressMax are
	// MaxStartups' older names for start and full (rate 30): still read
	// when it is not set, and Notes says so.
	UnauthenticatedPerAddress    int `toml:"unauthenticated_per_address"`
	UnauthenticatedPerAddressMax int `toml:"unauthenticated_per_address_max"`
	// HostReadyTimeout is how long a host has, once connected, to finish
	// its start-up (READY) before it is told why and closed.
	HostReadyTimeout time.Duration `toml:"host_ready_timeout"`
	// SessionsPerAddress caps the live host sessions from one source
	// address (the PROXY protocol's client address, with proxy_protocol).
	SessionsPerAddress int `toml:"sessions_per_address"`
	// WebConnectionsPerAddress caps the connections (pages, keep-alive,
	// WebSocket guests) one address holds open to the web side.
	WebConnectionsPerAddress int `toml:"web_connections_per_address"`
	// HostOutputRate caps the bytes per second the relay reads from each
	// host, after a burst of HostOutputBurst bytes. Beyond it the host's
	// channel is read more slowly: its SSH window closes and tmate waits,
	// nothing is dropped.
	HostOutputRate  int `toml:"host_output_rate"`
	HostOutputBurst int `toml:"host_output_burst"`
	// GuestWriteTimeout is how long a frame's write to a guest (ssh or
	// browser) may wait for the guest to take it before the guest is
	// dropped.
	GuestWriteTimeout time.Duration `toml:"guest_write_timeout"`
	// HostWriteTimeout is how long a write to a host (guests' keys and
	// commands, notices) may wait for the host to read it before the host's
	// connection is closed.
	HostWriteTimeout time.Duration `toml:"host_write_timeout"`
	// MaxWindows caps the windows of one session's layout.
	MaxWindows int `toml:"max_windows"`
	// MaxConfigBytes bounds what a session keeps of its host's tmux
	// configuration (replicated bind-key and set-option commands): key
	// bindings and options, each.
	MaxConfigBytes int `toml:"max_config_bytes"`
}

// Repo is the [repo] table: the signed apt and yum repositories the relay
// publishes under /apt/ and /yum/ (the client package, and relay packages).
type Repo struct {
	// Enabled serves the repositories; absent means true.
	Enabled bool `toml:"enabled"`
	// PackagesDir holds more .deb and .rpm files to publish (tmate-relay
	// itself); empty means none. A relative path is relative to the file's
	// directory; after Load it is that joined path.
	PackagesDir string `toml:"packages_dir"`
	// ValidFor is how long a signed Release stays valid (apt's
	// Valid-Until); the relay signs it again well before then.
	ValidFor time.Duration `toml:"valid_for"`
}

// Admin is the [admin] table: the administration socket that `tmate-relay
// sessions`, `guests`, `kick` and `say` talk to, and who may see the admin
// pages (recordings) on the web port.
type Admin struct {
	// Socket is the Unix socket's path when the relay is not
	// socket-activated (under systemd, tmate-relay-admin.socket makes
	// /run/tmate-relay/admin.sock); empty: none. The commands use it, or
	// that path when empty. A relative path is relative to the file's directory;
	// after Load it is that joined path.
	Socket string `toml:"socket"`
	// Users maps the admin pages' user names to password hashes (bcrypt or
	// argon2id, as `tmate-relay hash-password` prints); browsers log in
	// with HTTP Basic authentication.
	Users map[string]string `toml:"users"`
	// TrustedHeader names a request header that an authenticating reverse
	// proxy in front of the relay sets to the user's name: a request with
	// it (not empty) is let in, one without it is refused. Only for a
	// relay reachable through that proxy alone, which removes the header
	// from its clients' requests.
	TrustedHeader string `toml:"trusted_header"`
}

// Pages reports whether the admin pages are on: users or a trusted header
// are set. Off, every /admin/ path is unknown (404).
func (a Admin) Pages() bool { return len(a.Users) > 0 || a.TrustedHeader != "" }

// Log is the [log] table.
type Log struct {
	Level string `toml:"level"` // debug, info, warn or error
}

// Defaults, also written out in etc/tmate-relay/relay.toml.
const (
	DefaultSSHListen           = "0.0.0.0:10022"
	DefaultHostKeysDir         = "/var/lib/tmate-relay/keys"
	DefaultWebListen           = "0.0.0.0:10081" // not a port browsers refuse (browserports.go)
	DefaultMaxSessions         = 2000            // one node with two cores held 2000 sessions of two guests in 1.1 GB (docs/capacity.md)
	DefaultMaxGuestsPerSession = 100
	DefaultMaxReadOnlyGuests   = 100
	DefaultMaxPanes            = 1000
	DefaultHistoryLines        = 2000
	DefaultGuestInputRate      = 64 * 1024
	DefaultGracePeriod         = 20 * time.Second
	DefaultKeepaliveInterval   = 30 * time.Second
	DefaultTokenFailures       = 10
	DefaultTokenFailureWindow  = time.Minute
	DefaultMaxStartups         = "10:30:100"
	DefaultMaxStartupsTotal    = 1000
	DefaultHostReadyTimeout    = 30 * time.Second
	// DefaultSessionsPerAddress is 2.5 % of DefaultMaxSessions: room for
	// an office behind one NAT, while no address takes a large share.
	DefaultSessionsPerAddress = 50
	// DefaultWebConnectionsPerAddress lets one office fill a session with
	// browser guests (max_guests_per_session) and still load pages.
	DefaultWebConnectionsPerAddress = 200
	DefaultLogLevel                 = "info"
	DefaultAuditFormat              = "text"
	DefaultRepoValidFor             = 7 * 24 * time.Hour
	// DefaultReconnectWindow covers a dropped Wi-Fi, a laptop changing
	// networks and a relay restart (tmate retries every 2 s), while a
	// host that is gone for good frees its guests and tokens soon.
	DefaultReconnectWindow = 5 * time.Minute

	// MinReconnectWindow and MaxReconnectWindow bound reconnect_window:
	// tmate needs a few tries after a restart, and a day-old session with
	// no host is nobody's.
	MinReconnectWindow = 10 * time.Second
	MaxReconnectWindow = 24 * time.Hour

	// MinRepoValidFor is the shortest valid_for accepted: the relay signs
	// again when a third of it is left, and hosts' clocks differ.
	MinRepoValidFor = time.Hour

	// MaxHistoryLines is the largest history_lines accepted.
	MaxHistoryLines = 100000
	// MinMessageSize is the smallest non-zero max_message_size accepted:
	// tmate sends pane output in chunks of up to 16 KiB plus framing.
	MinMessageSize = 17 * 1024
)

// DefaultMetricsListen keeps metrics on loopback: a Prometheus on the same
// machine, or a proxy, reaches them; nobody else.
const DefaultMetricsListen = "127.0.0.1:10090"

// Bounds on what one host or guest can make its session hold.
const (
	// DefaultHostOutputRate is twice what tmate-server-rs sustains per
	// host; a pane's usual floods (a build log, `seq 1 200000`, 1.3 MB) fit
	// in DefaultHostOutputBurst and are not slowed at all.
	DefaultHostOutputRate  = 4 << 20
	DefaultHostOutputBurst = 16 << 20
	// DefaultGuestWriteTimeout is the web side's old fixed bound: a frame
	// is at most a screenful, which a link of a few KB/s takes in seconds.
	DefaultGuestWriteTimeout = 30 * time.Second
	// DefaultHostWriteTimeout: tmate reads its input as it comes, and
	// answers keepalives from the same loop; three missed keepalives
	// (90 s) end a dead one anyway.
	DefaultHostWriteTimeout = time.Minute
	DefaultMaxWindows       = 1000 // as the protocol's decoder always had
	// DefaultMaxConfigBytes: what a real tmate 2.4.0 sends as it starts
	// keeps about 10 KB of key bindings.
	DefaultMaxConfigBytes = 1 << 20
)

// Memory for panes' cells (16 bytes each), see [limits] max_session_cells.
const (
	// DefaultMaxSessionCells (8 Mi cells, 128 MiB) holds 80 screens of
	// 500x200, or one split into hundreds of panes, with their history.
	DefaultMaxSessionCells = 8 << 20
	// DefaultMaxRelayCells (64 Mi cells, 1 GiB) stays under the unit's
	// MemoryHigh= (systemd/tmate-relay.service).
	DefaultMaxRelayCells = 64 << 20
)

// LogLevels are the accepted values of [log] level.
var LogLevels = []string{"debug", "info", "warn", "error"}

// Default returns the configuration used for every absent key.
func Default() *Config {
	return &Config{
		SSH: SSH{
			Listen:        DefaultSSHListen,
			AdvertisePort: 10022,
			HostKeysDir:   DefaultHostKeysDir,
		},
		Web:      Web{Listen: DefaultWebListen},
		Sessions: Sessions{ReconnectWindow: DefaultReconnectWindow},
		Limits: Limits{
			MaxSessions:         DefaultMaxSessions,
			MaxGuestsPerSession: DefaultMaxGuestsPerSession,
			MaxPanes:            DefaultMaxPanes,
			HistoryLines:        DefaultHistoryLines,
			MaxSessionCells:     DefaultMaxSessionCells,
			MaxRelayCells:       DefaultMaxRelayCells,
			GuestInputRate:      DefaultGuestInputRate,
			GracePeriod:         DefaultGracePeriod,
			KeepaliveInterval:   DefaultKeepaliveInterval,

			TokenFailures:            DefaultTokenFailures,
			TokenFailureWindow:       DefaultTokenFailureWindow,
			MaxStartups:              DefaultMaxStartups,
			Startups:                 Startups{Start: 10, Rate: 30, Full: 100},
			MaxStartupsTotal:         DefaultMaxStartupsTotal,
			HostReadyTimeout:         DefaultHostReadyTimeout,
			SessionsPerAddress:       DefaultSessionsPerAddress,
			WebConnectionsPerAddress: DefaultWebConnectionsPerAddress,
			HostOutputRate:           DefaultHostOutputRate,
			HostOutputBurst:          DefaultHostOutputBurst,
			GuestWriteTimeout:        DefaultGuestWriteTimeout,
			HostWriteTimeout:         DefaultHostWriteTimeout,
			MaxWindows:               DefaultMaxWindows,
			MaxConfigBytes:           DefaultMaxConfigBytes,

			MaxReadOnlyGuestsPerSession: DefaultMaxReadOnlyGuests,
		},
		Log:  Log{Level: DefaultLogLevel},
		Repo: Repo{Enabled: true, ValidFor: DefaultRepoValidFor},

		Metrics: Metrics{Listen: DefaultMetricsListen},
		Audit:   Audit{Format: DefaultAuditFormat},

		Recording: Recording{Dir: DefaultRecordingDir, Retention: DefaultRecordingRetention, MaxBytes: DefaultRecordingMaxBytes},
	}
}

// Load reads and checks the file at path.
func Load(path string) (*Config, error) {
	if err := fileperm.Config(path); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, string(data))
}

// Parse checks doc as the contents of a relay.toml called name (used in
// error messages and to resolve relative paths).
func Parse(name, doc string) (*Config, error) {
	var c Config
	md, err := toml.Decode(doc, &c)
	if err != nil {
		return nil, decodeError(name, doc, err)
	}
	v := &validator{name: name, lines: scanKeyLines(doc)}
	var unknown []toml.Key
	for _, k := range md.Undecoded() {
		if !under(k, unknown) { // report an unknown table, not each key in it
			unknown = append(unknown, k)
			v.add(k, "unknown key %s", describeKey(k))
		}
	}
	v.check(&c, &md, filepath.Dir(name))
	if len(v.problems) > 0 {
		return nil, v.err()
	}
	return &c, nil
}

// under reports whether k is one of keys or inside one of them.
func under(k toml.Key, keys []toml.Key) bool {
	for _, p := range keys {
		if len(p) <= len(k) && reflect.DeepEqual([]string(p), []string(k[:len(p)])) {
			return true
		}
	}
	return false
}

func describeKey(k toml.Key) string {
	if len(k) == 1 {
		return fmt.Sprintf("%q", k[0])
	}
	return fmt.Sprintf("%q in [%s]", k[len(k)-1], joinKey(k[:len(k)-1]))
}

// typeWords rewords the toml package's type mismatch message in TOML terms.
var typeWords = strings.NewReplacer(
	"incompatible types: TOML value has type ", "has type ",
	"; destination has type ", ", want ",
	"int64", "integer",
	"float64", "float",
	"map[string]any", "table",
	"map[string]interface {}", "table",
	"[]any", "array",
	"[]interface {}", "array",
	"bool", "boolean",
	"time.Time", "datetime",
)

var mismatchRE = regexp.MustCompile(`type mismatch for \S+: expected (\w+) but found (\w+)`)

var lineRE = regexp.MustCompile(`^toml: line (\d+)(?: \(last key "([^"]*)"\))?: `)

// decodeError turns the toml package's errors into "FILE:LINE: message".
func decodeError(name, doc string, err error) error {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		msg := mismatchRE.ReplaceAllString(pe.Message, "must be a $1, not $2")
		if pe.LastKey != "" && !strings.Contains(msg, pe.LastKey) {
			msg = fmt.Sprintf("%s: %s", pe.LastKey, msg)
		}
		if pe.Position.Line > 0 {
			return fmt.Errorf("%s:%d: %s", name, pe.Position.Line, msg)
		}
		return fmt.Errorf("%s: %s", name, msg)
	}
	// Type mismatches come as "toml: line N (last key "k"): ...".
	msg := err.Error()
	if m := lineRE.FindStringSubmatch(msg); m != nil {
		rest := msg[len(m[0]):]
		rest = typeWords.Replace(rest)
		if m[2] != "" {
			rest = m[2] + " " + rest
		}
		return fmt.Errorf("%s:%s: %s", name, m[1], rest)
	}
	return fmt.Errorf("%s: %s", name, strings.TrimPrefix(msg, "toml: "))
}

type problem struct {
	line int
	msg  string
}

type validator struct {
	name     string
	lines    keyLines
	problems []problem
}

func (v *validator) add(key []string, format string, args ...any) {
	v.problems = append(v.problems, problem{v.lines.line(key...), fmt.Sprintf(format, args...)})
}

func (v *validator) err() error {
	sort.SliceStable(v.problems, func(i, j int) bool { return v.problems[i].line < v.problems[j].line })
	msgs := make([]string, len(v.problems))
	for i, p := range v.problems {
		if p.line > 0 {
			msgs[i] = fmt.Sprintf("%s:%d: %s", v.name, p.line, p.msg)
		} else {
			msgs[i] = fmt.Sprintf("%s: %s", v.name, p.msg)
		}
	}
	return errors.New(strings.Join(msgs, "\n"))
}

func (v *validator) check(c *Config, md *toml.MetaData, dir string) {
	d := Default()

	// [ssh]
	if c.SSH.Listen == "" {
		c.SSH.Listen = d.SSH.Listen
	}
	listenPort := v.address(c.SSH.Listen, "ssh", "listen")
	if c.SSH.AdvertiseHost != "" && !validHost(c.SSH.AdvertiseHost) {
		v.add([]string{"ssh", "advertise_host"}, "advertise_host %q is not a host name or IP address", c.SSH.AdvertiseHost)
	}
	switch p := c.SSH.AdvertisePort; {
	case p < 0 || p > 65535:
		v.add([]string{"ssh", "advertise_port"}, "advertise_port %d is out of range 1..65535", p)
	case p == 0 && listenPort > 0:
		c.SSH.AdvertisePort = listenPort
	case p == 0:
		c.SSH.AdvertisePort = d.SSH.AdvertisePort
	}
	if c.SSH.HostKeysDir == "" {
		c.SSH.HostKeysDir = d.SSH.HostKeysDir
	} else if !filepath.IsAbs(c.SSH.HostKeysDir) {
		c.SSH.HostKeysDir = filepath.Join(dir, c.SSH.HostKeysDir)
	}

	// [web]
	if c.Web.Listen == "" {
		c.Web.Listen = d.Web.Listen
	}
	v.address(c.Web.Listen, "web", "listen")
	if c.Web.PublicURL != "" {
		u, err := url.Parse(c.Web.PublicURL)
		switch {
		case err != nil:
			v.add([]string{"web", "public_url"}, "public_url %q is not a URL: %v", c.Web.PublicURL, errors.Unwrap(err))
		case u.Scheme != "http" && u.Scheme != "https":
			v.add([]string{"web", "public_url"}, "public_url %q must start with http:// or https://", c.Web.PublicURL)
		case u.Host == "" || u.Hostname() == "":
			v.add([]string{"web", "public_url"}, "public_url %q has no host", c.Web.PublicURL)
		case u.RawQuery != "" || u.Fragment != "" || u.User != nil:
			v.add([]string{"web", "public_url"}, "public_url %q must not have a user, query or fragment", c.Web.PublicURL)
		default:
			c.Web.PublicURL = strings.TrimRight(c.Web.PublicURL, "/")
		}
	}

	switch cert, key := c.Web.TLSCert, c.Web.TLSKey; {
	case cert != "" && key == "":
		v.add([]string{"web", "tls_cert"}, "tls_cert is set but tls_key is not: HTTPS needs both")
	case cert == "" && key != "":
		v.add([]string{"web", "tls_key"}, "tls_key is set but tls_cert is not: HTTPS needs both")
	case c.Web.TLSCert != "":
		for _, f := range []struct {
			key  string
			path *string
		}{{"tls_cert", &c.Web.TLSCert}, {"tls_key", &c.Web.TLSKey}} {
			if !filepath.IsAbs(*f.path) {
				*f.path = filepath.Join(dir, *f.path)
			}
			if _, err := os.Stat(*f.path); err != nil {
				v.add([]string{"web", f.key}, "%s %s: %v", f.key, *f.path, errors.Unwrap(err))
			}
		}
	}

	// [hosts]
	if f := c.Hosts.AuthorizedKeys; f != "" {
		if !filepath.IsAbs(f) {
			c.Hosts.AuthorizedKeys = filepath.Join(dir, f)
		}
		if _, err := os.Stat(c.Hosts.AuthorizedKeys); err != nil {
			v.add([]string{"hosts", "authorized_keys"}, "authorized_keys %s: %v", c.Hosts.AuthorizedKeys, errors.Unwrap(err))
		}
	}

	// [sessions]
	for i, k := range c.Sessions.APIKeys {
		if strings.TrimSpace(k) == "" || strings.ContainsAny(k, " \t\r\n") {
			v.add([]string{"sessions", "api_keys"}, "api_keys[%d] must be a non-empty string without spaces", i)
		}
	}
	if len(c.Sessions.APIKeys) == 0 {
		c.Sessions.APIKeys = nil
	}
	n := len(v.problems)
	v.duration(md, &c.Sessions.ReconnectWindow, d.Sessions.ReconnectWindow, "sessions", "reconnect_window")
	if w := c.Sessions.ReconnectWindow; len(v.problems) == n && (w < MinReconnectWindow || w > MaxReconnectWindow) {
		v.add([]string{"sessions", "reconnect_window"}, "reconnect_window %s is out of range %s..%s", w, MinReconnectWindow, MaxReconnectWindow)
	}

	// [limits]
	l := &c.Limits
	v.count(&l.MaxSessions, d.Limits.MaxSessions, "max_sessions")
	v.count(&l.MaxGuestsPerSession, d.Limits.MaxGuestsPerSession, "max_guests_per_session")
	v.count(&l.MaxReadOnlyGuestsPerSession, d.Limits.MaxReadOnlyGuestsPerSession, "max_readonly_guests_per_session")
	v.count(&l.MaxPanes, d.Limits.MaxPanes, "max_panes")
	v.count(&l.MaxSessionCells, d.Limits.MaxSessionCells, "max_session_cells")
	v.count(&l.MaxRelayCells, d.Limits.MaxRelayCells, "max_relay_cells")
	v.count(&l.GuestInputRate, d.Limits.GuestInputRate, "guest_input_rate")
	v.count(&l.TokenFailures, d.Limits.TokenFailures, "token_failures")
	v.count(&l.MaxStartupsTotal, d.Limits.MaxStartupsTotal, "max_startups_total")
	c.notes = append(c.notes, v.startups(md, l, d.Limits)...)
	v.count(&l.SessionsPerAddress, d.Limits.SessionsPerAddress, "sessions_per_address")
	v.count(&l.WebConnectionsPerAddress, d.Limits.WebConnectionsPerAddress, "web_connections_per_address")
	v.count(&l.HostOutputRate, d.Limits.HostOutputRate, "host_output_rate")
	v.count(&l.HostOutputBurst, d.Limits.HostOutputBurst, "host_output_burst")
	if b := l.HostOutputBurst; b > 0 && b < MinMessageSize {
		v.add([]string{"limits", "host_output_burst"}, "host_output_burst %d must be at least %d (one pane output message)", l.HostOutputBurst, MinMessageSize)
	}
	v.count(&l.MaxWindows, d.Limits.MaxWindows, "max_windows")
	v.count(&l.MaxConfigBytes, d.Limits.MaxConfigBytes, "max_config_bytes")
	v.duration(md, &l.GuestWriteTimeout, d.Limits.GuestWriteTimeout, "limits", "guest_write_timeout")
	v.duration(md, &l.HostWriteTimeout, d.Limits.HostWriteTimeout, "limits", "host_write_timeout")
	v.duration(md, &l.HostReadyTimeout, d.Limits.HostReadyTimeout, "limits", "host_ready_timeout")
	v.duration(md, &l.TokenFailureWindow, d.Limits.TokenFailureWindow, "limits", "token_failure_window")
	hl := []string{"limits", "history_lines"}
	switch {
	case md.IsDefined(hl...) && (l.HistoryLines < 1 || l.HistoryLines > MaxHistoryLines):
		v.add(hl, "history_lines %d is out of range 1..%d", l.HistoryLines, MaxHistoryLines)
	case l.HistoryLines == 0:
		l.HistoryLines = d.Limits.HistoryLines
	}
	if m := l.MaxMessageSize; m < 0 || m > 0 && m < MinMessageSize {
		v.add([]string{"limits", "max_message_size"}, "max_message_size %d must be 0 (protocol default) or at least %d", m, MinMessageSize)
	}
	v.duration(md, &l.GracePeriod, d.Limits.GracePeriod, "limits", "grace_period")
	v.duration(md, &l.KeepaliveInterval, d.Limits.KeepaliveInterval, "limits", "keepalive_interval")

	// [log]
	if c.Log.Level == "" {
		c.Log.Level = d.Log.Level
	} else {
		c.Log.Level = strings.ToLower(c.Log.Level)
		ok := false
		for _, lv := range LogLevels {
			ok = ok || c.Log.Level == lv
		}
		if !ok {
			v.add([]string{"log", "level"}, "level %q is not one of %s", c.Log.Level, strings.Join(LogLevels, ", "))
		}
	}

	// [metrics]
	if !md.IsDefined("metrics", "listen") {
		c.Metrics.Listen = d.Metrics.Listen
	}
	if c.Metrics.Listen != "" {
		v.address(c.Metrics.Listen, "metrics", "listen")
	}

	// [audit]
	if c.Audit.Format == "" {
		c.Audit.Format = d.Audit.Format
	} else if !slices.Contains(AuditFormats, c.Audit.Format) {
		v.add([]string{"audit", "format"}, "format %q is not one of %s", c.Audit.Format, strings.Join(AuditFormats, ", "))
	}
	if f := c.Audit.File; f != "" {
		if !filepath.IsAbs(f) {
			c.Audit.File = filepath.Join(dir, f)
		}
		// Whether it can be opened is known only as the relay's user
		// (serve opens it at start); a directory never can.
		if st, err := os.Stat(c.Audit.File); err == nil && st.IsDir() {
			v.add([]string{"audit", "file"}, "file %s is a directory, not a file", c.Audit.File)
		}
	}

	// [repo]
	if !md.IsDefined("repo", "enabled") {
		c.Repo.Enabled = d.Repo.Enabled
	}
	if c.Repo.PackagesDir != "" && !filepath.IsAbs(c.Repo.PackagesDir) {
		c.Repo.PackagesDir = filepath.Join(dir, c.Repo.PackagesDir)
	}
	// [admin]
	if c.Admin.Socket != "" && !filepath.IsAbs(c.Admin.Socket) {
		c.Admin.Socket = filepath.Join(dir, c.Admin.Socket)
	}
	v.checkAdminPages(md, c)
	n = len(v.problems)
	v.duration(md, &c.Repo.ValidFor, d.Repo.ValidFor, "repo", "valid_for")
	if len(v.problems) == n && c.Repo.ValidFor < MinRepoValidFor {
		v.add([]string{"repo", "valid_for"}, "valid_for %s is shorter than %s", c.Repo.ValidFor, MinRepoValidFor)
	}

	// [cluster]
	v.checkCluster(c, md, dir)

	// [recording]
	v.checkRecording(c, md, dir)
}

// address checks a listen address and returns its port (-1 when invalid).
func (v *validator) address(addr string, key ...string) int {
	name := strings.Join(key, ".") // "ssh.listen": the table says which listen
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		v.add(key, "%s %q is not HOST:PORT: %s", name, addr, errText(err))
		return -1
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		v.add(key, "%s %q: port %q is not a number", name, addr, port)
		return -1
	}
	if n < 0 || n > 65535 {
		v.add(key, "%s %q: port %d is out of range 0..65535", name, addr, n)
		return -1
	}
	if host != "" && !validHost(host) {
		v.add(key, "%s %q: %q is not a host name or IP address", name, addr, host)
		return -1
	}
	return n
}

func errText(err error) string {
	var ae *net.AddrError
	if errors.As(err, &ae) {
		return ae.Err
	}
	return err.Error()
}

// count checks a non-negative limit and fills in its default for zero.
func (v *validator) count(p *int, def int, name string) {
	switch {
	case *p < 0:
		v.add([]string{"limits", name}, "%s %d must not be negative", name, *p)
	case *p == 0:
		*p = def
	}
}

// duration checks a duration written as a string ("20s") and fills in its
// default for zero. A bare integer would silently mean nanoseconds, so it is
// refused.
func (v *validator) duration(md *toml.MetaData, p *time.Duration, def time.Duration, table, name string) {
	key := []string{table, name}
	if md.IsDefined(key...) && md.Type(key...) != "String" {
		v.add(key, "%s must be a duration string such as %q (found %s)", name, def.String(), strings.ToLower(md.Type(key...)))
		return
	}
	switch {
	case *p < 0:
		v.add(key, "%s %s must not be negative", name, *p)
	case *p == 0:
		*p = def
	}
}

var hostLabel = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)

// validHost accepts an IP address or a DNS name (letters, digits, hyphens,
// dots; an optional trailing dot).
func validHost(h string) bool {
	if net.ParseIP(h) != nil {
		return true
	}
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if !hostLabel.MatchString(label) {
			return false
		}
	}
	return true
}

// AdvertiseHost is the host name hosts and guests are told to connect to:
// [ssh] advertise_host, or else this machine's FQDN (see FQDN).
func (c *Config) AdvertiseHost() string {
	if c.SSH.AdvertiseHost != "" {
		return c.SSH.AdvertiseHost
	}
	return FQDN()
}

// WebURL is the base URL of the web side, without a trailing slash:
// [web] public_url, or else http(s)://ADVERTISE_HOST:PORT with the port of
// [web] listen (omitted when it is the scheme's own), https with TLS set.
// Under socket activation serve sets listen to the socket's own address.
func (c *Config) WebURL() string {
	if c.Web.PublicURL != "" {
		return strings.TrimRight(c.Web.PublicURL, "/")
	}
	host := c.AdvertiseHost()
	_, port, err := net.SplitHostPort(c.Web.Listen)
	if err != nil || port == "" {
		_, port, _ = net.SplitHostPort(DefaultWebListen)
	}
	scheme, defaultPort := "http", "80"
	if c.Web.TLSCert != "" {
		scheme, defaultPort = "https", "443"
	}
	if port == defaultPort {
		return scheme + "://" + hostForURL(host)
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

func hostForURL(h string) string {
	if strings.Contains(h, ":") {
		return "[" + h + "]"
	}
	return h
}

// hostname and lookupCNAME are replaced in tests.
var (
	hostname    = os.Hostname
	lookupCNAME = net.LookupCNAME
)

// FQDN returns this machine's fully qualified name: the host name, made
// canonical by a name lookup (as `hostname -f` does), or the bare host name
// when the lookup fails. As a last resort it returns "localhost".
func FQDN() string {
	h, err := hostname()
	if err != nil || h == "" {
		return "localhost"
	}
	cname, err := lookupCNAME(h)
	if err != nil {
		return h
	}
	cname = strings.TrimSuffix(cname, ".")
	if cname == "" || !validHost(cname) {
		return h
	}
	return cname
}

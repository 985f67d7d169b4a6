// Package doctor checks an installed relay the way an administrator would
// by hand: its configuration, its listeners and systemd units, its
// advertised name, its host keys against what hosts are told, its signed
// repository, its state directory and the clock. Each finding is one
// line, ok, warn or fail, that says what to do.
package doctor

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"golang.org/x/crypto/ssh"

	"tmate-relay/service/config"
)

// Status is a check's verdict.
type Status int

const (
	OK   Status = iota
	Warn        // works, but deserves a look
	Fail        // broken: hosts or guests are affected
)

func (s Status) String() string {
	return [...]string{"ok", "warn", "fail"}[s]
}

// Result is one line of the report.
type Result struct {
	Check  string
	Status Status
	Text   string // what was found and, unless ok, what to do
}

func (r Result) String() string { return fmt.Sprintf("%-4s  %-16s%s", r.Status, r.Check, r.Text) }

// Check names, in the order they run.
const (
	CheckConfig        = "config"
	CheckSystemd       = "systemd"
	CheckSSHPort       = "ssh port"
	CheckWebPort       = "web port"
	CheckMetricsPort   = "metrics port"
	CheckAdvertiseHost = "advertise_host"
	CheckHostKeys      = "host keys"
	CheckTmateConf     = "/tmate.conf"
	CheckClientPackage = "client package"
	CheckRepository    = "repository"
	CheckStateDir      = "state directory"
	CheckClock         = "clock"
)

// Options say what to check and how to reach the world; a zero Now,
// LookupIP, LocalAddrs or Timeout is the real machine's.
type Options struct {
	// ConfigPath is the relay.toml to check.
	ConfigPath string
	// User owns the state directory (the relay's user, tmate-relay).
	User string
	// Systemd, when not nil, is the running systemd; nil: the machine
	// does not run systemd (or it cannot be reached: SystemdMissing says why).
	Systemd        Systemd
	SystemdMissing string
	// BuildTime is when this program was built; the clock must be past it.
	BuildTime time.Time
	Now       func() time.Time
	// LookupIP resolves a host name, LocalAddrs lists this machine's
	// addresses.
	LookupIP   func(ctx context.Context, host string) ([]net.IP, error)
	LocalAddrs func() ([]net.IP, error)
	// Timeout bounds each network request.
	Timeout time.Duration
}

// Run runs every check and writes each result to w as it comes.
func Run(ctx context.Context, opts Options, w io.Writer) []Result {
	d := newDoctor(opts)
	var all []Result
	for _, check := range d.checks() {
		for _, r := range check(ctx) {
			if w != nil {
				fmt.Fprintln(w, r)
			}
			all = append(all, r)
		}
		if d.cfg == nil { // nothing else can be checked without it
			break
		}
	}
	return all
}

// doctor carries what one check finds to the next ones.
type doctor struct {
	opts Options
	cfg  *config.Config

	sshTargets, webTargets []string // addresses to dial, from systemd or relay.toml
	sshUp                  bool
	presented              map[string]ssh.PublicKey // host keys the relay presents, by type
	fileKeys               map[string]string        // fingerprints of the key files, by type
	webBase                string                   // scheme://host:port the web side answered on
	client                 *http.Client
	releaseDate            time.Time // the served Release's Date
}

func newDoctor(opts Options) *doctor {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.LookupIP == nil {
		opts.LookupIP = func(ctx context.Context, host string) ([]net.IP, error) {
			return net.DefaultResolver.LookupIP(ctx, "ip", host)
		}
	}
	if opts.LocalAddrs == nil {
		opts.LocalAddrs = localAddrs
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	return &doctor{opts: opts, presented: map[string]ssh.PublicKey{}}
}

func (d *doctor) checks() []func(context.Context) []Result {
	one := func(f func(context.Context) Result) func(context.Context) []Result {
		return func(ctx context.Context) []Result { return []Result{f(ctx)} }
	}
	return []func(context.Context) []Result{
		one(d.checkConfig),
		d.checkSystemd, // before the ports: dialing them starts the relay
		one(d.checkSSHPort),
		one(d.checkWebPort),
		one(d.checkMetricsPort),
		one(d.checkAdvertiseHost),
		one(d.checkHostKeys),
		one(d.checkTmateConf),
		one(d.checkClientPackage),
		one(d.checkRepository),
		one(d.checkStateDir),
		one(d.checkRecording),
		one(d.checkClock),
	}
}

func ok(check, format string, a ...any) Result {
	return Result{check, OK, fmt.Sprintf(format, a...)}
}

func warn(check, format string, a ...any) Result {
	return Result{check, Warn, fmt.Sprintf(format, a...)}
}

func fail(check, format string, a ...any) Result {
	return Result{check, Fail, fmt.Sprintf(format, a...)}
}

func (d *doctor) checkConfig(ctx context.Context) Result {
	cfg, err := config.Load(d.opts.ConfigPath)
	if err != nil {
		return fail(CheckConfig, "%v (fix %s, then run doctor again)", err, d.opts.ConfigPath)
	}
	d.cfg = cfg
	d.sshTargets = dialTargets(cfg.SSH.Listen)
	d.webTargets = dialTargets(cfg.Web.Listen)
	return ok(CheckConfig, "%s parses", d.opts.ConfigPath)
}

// localAddrs lists the addresses of this machine's interfaces.
func localAddrs() ([]net.IP, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, err
	}
	var ips []net.IP
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			ips = append(ips, n.IP)
		}
	}
	return ips, nil
}

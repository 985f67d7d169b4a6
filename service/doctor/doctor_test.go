package doctor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tmate-relay/packaging"
	"tmate-relay/service/config"
	"tmate-relay/service/hostkey"
	"tmate-relay/service/metrics"
	"tmate-relay/service/session"
	"tmate-relay/service/sshd"
	"tmate-relay/service/web"
)

// fixtures holds what is slow to make, made once: two sets of host keys
// (A, B) and a repository signing key.
var fixtures string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "doctor-test-")
	if err != nil {
		panic(err)
	}
	for _, set := range []string{"A", "B"} {
		if _, err := hostkey.Generate(filepath.Join(dir, set)); err != nil {
			panic(err)
		}
	}
	if _, _, err := packaging.LoadOrCreateSigningKey(filepath.Join(dir, packaging.SigningKeyFile)); err != nil {
		panic(err)
	}
	// A repository whose client package pins each key set, signed with
	// that key (the parent of HostKeysDir holds it). A's is where a web
	// side started with key set B looks for its repository (repoDir).
	for _, set := range []string{"A", "B"} {
		cfg := config.Default()
		cfg.SSH.HostKeysDir = filepath.Join(dir, set)
		cfg.SSH.AdvertiseHost = advertised
		if _, err := packaging.BuildRepository(cfg, repoDir(dir, set)); err != nil {
			panic(err)
		}
	}
	fixtures = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// repoDir is where the fixtures' repository for key set is.
func repoDir(fixtures, set string) string {
	if set == "A" {
		return filepath.Join(fixtures, packaging.RepoDirName)
	}
	return filepath.Join(fixtures, packaging.RepoDirName+set)
}

// fakeSystemd is a systemd with the relay's units in the states a test
// sets; tests of the real D-Bus answers run in the booted container
// (packaging).
type fakeSystemd struct {
	units  map[string]Unit
	ntp    bool
	ntpErr error
}

func (f *fakeSystemd) Unit(_ context.Context, name string) (Unit, error) {
	if u, ok := f.units[name]; ok {
		return u, nil
	}
	return Unit{LoadState: "not-found", ActiveState: "inactive"}, nil
}

func (f *fakeSystemd) NTPSynchronized(context.Context) (bool, error) { return f.ntp, f.ntpErr }

// setup says how a test relay differs from a healthy one.
type setup struct {
	proxy          bool   // proxy_protocol = true, and the relay requires it
	metricsOff     bool   // [metrics] listen = ""
	metricsForeign bool   // another program answers on [metrics] listen
	webKeys        string // host key set /tmate.conf is served from (stale relay)
	webAdvertise   string // advertise_host the web side was started with
	repoKeys       string // host key set the published client package pins (A)
}

// testRelay is a relay of the real parts (sshd, web, metrics, the signed
// repository) on loopback ports, with relay.toml and a state directory in
// a temporary directory, and a doctor's options to check it.
type testRelay struct {
	dir, config string
	cfg         *config.Config
	sshL, webL  net.Listener
	opts        Options
	sd          *fakeSystemd
}

const advertised = "relay.example.test" // resolves to 192.0.2.10, an address of "this machine"

func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dst, mode); err != nil {
		t.Fatal(err)
	}
}

// installKeys copies host key set into dir.
func installKeys(t *testing.T, set, dir string) {
	t.Helper()
	for _, f := range hostkey.Files {
		copyFile(t, filepath.Join(fixtures, set, f.Name), filepath.Join(dir, f.Name), 0o600)
		copyFile(t, filepath.Join(fixtures, set, f.Name+".pub"), filepath.Join(dir, f.Name+".pub"), 0o644)
	}
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func serveHTTP(t *testing.T, l net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
}

func newRelay(t *testing.T, s setup) *testRelay {
	t.Helper()
	r := &testRelay{dir: t.TempDir()}
	state := filepath.Join(r.dir, "state")
	keys := filepath.Join(state, "keys")
	if err := os.MkdirAll(keys, 0o700); err != nil {
		t.Fatal(err)
	}
	os.Chmod(state, 0o750)
	installKeys(t, "A", keys)
	copyFile(t, filepath.Join(fixtures, packaging.SigningKeyFile), filepath.Join(state, packaging.SigningKeyFile), 0o600)

	r.sshL, r.webL = listen(t), listen(t)
	metricsL := listen(t)
	metricsListen := metricsL.Addr().String()
	if s.metricsOff {
		metricsListen = ""
	}
	r.config = filepath.Join(r.dir, "relay.toml")
	toml := fmt.Sprintf("[ssh]\nlisten = %q\nadvertise_host = %q\nadvertise_port = 10022\nhost_keys_dir = \"state/keys\"\nproxy_protocol = %v\n"+
		"[web]\nlisten = %q\nproxy_protocol = %v\n[metrics]\nlisten = %q\n", r.sshL.Addr(), advertised, s.proxy, r.webL.Addr(), s.proxy, metricsListen)
	if err := os.WriteFile(r.config, []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(r.config)
	if err != nil {
		t.Fatal(err)
	}
	r.cfg = cfg

	repoKeys := "A"
	if s.repoKeys != "" {
		repoKeys = s.repoKeys
	}
	if err := os.CopyFS(packaging.LiveRepoDir(cfg), os.DirFS(repoDir(fixtures, repoKeys))); err != nil {
		t.Fatal(err)
	}

	signers, err := hostkey.Load(keys)
	if err != nil {
		t.Fatal(err)
	}
	registry := session.NewRegistry(10)
	m := metrics.New(registry, "test")
	srv, err := sshd.New(sshd.Config{HostKeys: signers, Registry: registry, ProxyProtocol: s.proxy, Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(r.sshL)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	webCfg := *cfg
	if s.webKeys != "" {
		webCfg.SSH.HostKeysDir = filepath.Join(fixtures, s.webKeys)
	}
	if s.webAdvertise != "" {
		webCfg.SSH.AdvertiseHost = s.webAdvertise
	}
	serveHTTP(t, web.Listener(r.webL, 100, s.proxy, slog.New(slog.DiscardHandler)), web.New(&webCfg, web.Options{Metrics: m}))
	mux := http.NewServeMux()
	if s.metricsForeign {
		mux.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "other_program_up 1") })
	} else {
		mux.Handle("/metrics", m.Handler())
	}
	serveHTTP(t, metricsL, mux)

	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	r.sd = &fakeSystemd{ntp: true, units: map[string]Unit{
		ServiceUnit:     {LoadState: "loaded", ActiveState: "active", SubState: "running", UnitFileState: "static"},
		SSHSocketUnit:   {LoadState: "loaded", ActiveState: "active", SubState: "listening", UnitFileState: "enabled", Listen: []string{r.sshL.Addr().String()}},
		HTTPSocketUnit:  {LoadState: "loaded", ActiveState: "active", SubState: "listening", UnitFileState: "enabled", Listen: []string{r.webL.Addr().String()}},
		AdminSocketUnit: {LoadState: "loaded", ActiveState: "active", SubState: "listening", UnitFileState: "enabled", Listen: []string{"/run/tmate-relay/admin.sock"}},
	}}
	r.opts = Options{
		ConfigPath: r.config,
		User:       me.Username,
		Systemd:    r.sd,
		BuildTime:  time.Now().Add(-24 * time.Hour),
		LookupIP: func(_ context.Context, host string) ([]net.IP, error) {
			if host == advertised {
				return []net.IP{net.ParseIP("192.0.2.10")}, nil
			}
			return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
		},
		LocalAddrs: func() ([]net.IP, error) {
			return []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("192.0.2.10")}, nil
		},
		Timeout: 5 * time.Second,
	}
	return r
}

func (r *testRelay) run(t *testing.T) []Result {
	t.Helper()
	var b strings.Builder
	res := Run(context.Background(), r.opts, &b)
	t.Logf("doctor:\n%s", b.String())
	return res
}

// worst is the worst verdict among check's lines, and their text.
func worst(res []Result, check string) (Status, string, bool) {
	st, found := OK, false
	var texts []string
	for _, r := range res {
		if r.Check == check {
			found = true
			st = max(st, r.Status)
			texts = append(texts, r.Text)
		}
	}
	return st, strings.Join(texts, "\n"), found
}

// A healthy relay: every check ok.
func TestHealthyRelay(t *testing.T) {
	for _, s := range []setup{{}, {proxy: true}} {
		r := newRelay(t, s)
		res := r.run(t)
		for _, c := range []string{CheckConfig, CheckSystemd, CheckSSHPort, CheckWebPort, CheckMetricsPort, CheckAdvertiseHost,
			CheckHostKeys, CheckTmateConf, CheckClientPackage, CheckRepository, CheckStateDir, CheckClock} {
			if st, text, found := worst(res, c); !found || st != OK {
				t.Errorf("proxy_protocol %v: %s: %v %s (found %v), want ok", s.proxy, c, st, text, found)
			}
		}
	}
}

func chmod(path string, mode os.FileMode) func(*testing.T, *testRelay) {
	return func(t *testing.T, r *testRelay) {
		if err := os.Chmod(filepath.Join(r.dir, path), mode); err != nil {
			t.Fatal(err)
		}
	}
}

func unit(name string, change func(*Unit)) func(*testing.T, *testRelay) {
	return func(t *testing.T, r *testRelay) {
		u := r.sd.units[name]
		change(&u)
		r.sd.units[name] = u
	}
}

// Each check, broken one way at a time, says so (and the others stay
// as they were: TestHealthyRelay).
func TestBrokenRelay(t *testing.T) {
	hour := time.Hour
	day := 24 * hour
	for _, tc := range []struct {
		name   string
		setup  setup
		breaks func(*testing.T, *testRelay)
		check  string
		want   Status
		text   string
	}{
		{"config unknown key", setup{}, func(t *testing.T, r *testRelay) {
			f, _ := os.OpenFile(r.config, os.O_APPEND|os.O_WRONLY, 0)
			f.WriteString("colour = \"blue\"\n")
			f.Close()
		}, CheckConfig, Fail, `relay.toml:12: unknown key "colour" in [metrics]`},
		{"config missing", setup{}, func(t *testing.T, r *testRelay) { os.Remove(r.config) }, CheckConfig, Fail, "no such file"},

		{"no systemd", setup{}, func(t *testing.T, r *testRelay) { r.opts.Systemd, r.opts.SystemdMissing = nil, "" },
			CheckSystemd, Warn, "socket units not checked: this machine does not run systemd"},
		{"service not installed", setup{}, func(t *testing.T, r *testRelay) { delete(r.sd.units, ServiceUnit) },
			CheckSystemd, Warn, "tmate-relay.service is not-found"},
		{"ssh socket stopped", setup{}, unit(SSHSocketUnit, func(u *Unit) { u.ActiveState = "inactive" }),
			CheckSystemd, Fail, "tmate-relay.socket is inactive: hosts and ssh guests cannot connect (systemctl start tmate-relay.socket"},
		{"http socket disabled", setup{}, unit(HTTPSocketUnit, func(u *Unit) { u.UnitFileState = "disabled" }),
			CheckSystemd, Fail, "tmate-relay-http.socket is disabled, not enabled"},
		{"admin socket missing", setup{}, func(t *testing.T, r *testRelay) { delete(r.sd.units, AdminSocketUnit) },
			CheckSystemd, Warn, "tmate-relay-admin.socket is not-found: the admin commands"},
		{"service failed", setup{}, unit(ServiceUnit, func(u *Unit) { u.ActiveState = "failed" }),
			CheckSystemd, Fail, "tmate-relay.service failed: see why with journalctl"},

		{"ssh port closed", setup{}, func(t *testing.T, r *testRelay) { r.sshL.Close() }, CheckSSHPort, Fail, "connection refused"},
		{"proxy_protocol not set for a balanced relay", setup{proxy: true}, func(t *testing.T, r *testRelay) {
			b, _ := os.ReadFile(r.config)
			os.WriteFile(r.config, []byte(strings.Replace(string(b), "proxy_protocol = true", "proxy_protocol = false", 1)), 0o644)
		}, CheckSSHPort, Fail, "no SSH answer"},
		{"web port closed", setup{}, func(t *testing.T, r *testRelay) { r.webL.Close() }, CheckWebPort, Fail, "connection refused"},
		{"metrics port taken", setup{metricsForeign: true}, nil, CheckMetricsPort, Fail, "answers without the relay's metrics"},
		{"metrics off", setup{metricsOff: true}, nil, CheckMetricsPort, OK, "off"},
		{"no relay, metrics not checked", setup{}, func(t *testing.T, r *testRelay) { r.sshL.Close() }, CheckMetricsPort, Warn, "not checked"},

		{"advertise_host unresolvable", setup{}, func(t *testing.T, r *testRelay) {
			r.opts.LookupIP = func(context.Context, string) ([]net.IP, error) { return nil, errors.New("no such host") }
		}, CheckAdvertiseHost, Fail, "does not resolve (no such host)"},
		{"advertise_host loopback", setup{}, func(t *testing.T, r *testRelay) {
			r.opts.LookupIP = func(context.Context, string) ([]net.IP, error) { return []net.IP{net.ParseIP("127.0.1.1")}, nil }
		}, CheckAdvertiseHost, Warn, "127.0.1.1, a loopback address"},
		{"advertise_host elsewhere", setup{}, func(t *testing.T, r *testRelay) {
			r.opts.LocalAddrs = func() ([]net.IP, error) { return []net.IP{net.ParseIP("198.51.100.7")}, nil }
		}, CheckAdvertiseHost, Warn, "no address of this machine"},
		{"advertise_host is the load balancer", setup{proxy: true}, func(t *testing.T, r *testRelay) {
			r.opts.LocalAddrs = func() ([]net.IP, error) { return []net.IP{net.ParseIP("198.51.100.7")}, nil }
		}, CheckAdvertiseHost, OK, "the load balancer in front of it"},

		{"host keys replaced, relay not restarted", setup{}, func(t *testing.T, r *testRelay) {
			installKeys(t, "B", filepath.Join(r.dir, "state/keys"))
		}, CheckHostKeys, Fail, "it started before the key changed; restart it"},
		{"host key .pub of another key", setup{}, func(t *testing.T, r *testRelay) {
			copyFile(t, filepath.Join(fixtures, "B/ssh_host_rsa_key.pub"), filepath.Join(r.dir, "state/keys/ssh_host_rsa_key.pub"), 0o644)
		}, CheckHostKeys, Fail, "ssh_host_rsa_key.pub does not match its private key"},
		{"host key missing", setup{}, func(t *testing.T, r *testRelay) { os.Remove(filepath.Join(r.dir, "state/keys/ssh_host_ed25519_key")) },
			CheckHostKeys, Fail, "run `tmate-relay keygen`"},

		{"/tmate.conf pins other keys", setup{webKeys: "B"}, nil, CheckTmateConf, Fail, "hosts that use it refuse the relay"},
		{"/tmate.conf from an older relay.toml", setup{webAdvertise: "old.example.test"}, nil, CheckTmateConf, Warn, "names old.example.test:"},
		{"client package pins other keys", setup{repoKeys: "B"}, nil, CheckClientPackage, Fail, "it publishes a new package at start"},
		{"client package after a key change", setup{}, func(t *testing.T, r *testRelay) {
			installKeys(t, "B", filepath.Join(r.dir, "state/keys"))
		}, CheckClientPackage, Fail, "hosts that use it refuse the relay"},
		{"client package not published", setup{}, func(t *testing.T, r *testRelay) {
			f, _ := os.OpenFile(r.config, os.O_APPEND|os.O_WRONLY, 0)
			f.WriteString("[repo]\nenabled = false\n")
			f.Close()
		}, CheckClientPackage, OK, "not published"},

		{"repository expired", setup{}, func(t *testing.T, r *testRelay) { r.opts.Now = func() time.Time { return time.Now().Add(8 * day) } },
			CheckRepository, Fail, "expired at"},
		{"repository close to Valid-Until", setup{}, func(t *testing.T, r *testRelay) {
			r.opts.Now = func() time.Time { return time.Now().Add(7*day - 2*hour) }
		},
			CheckRepository, Fail, "and has not; restart it"},
		{"repository not signed again in time", setup{}, func(t *testing.T, r *testRelay) { r.opts.Now = func() time.Time { return time.Now().Add(5 * day) } },
			CheckRepository, Warn, "is it running?"},
		{"repository tampered with", setup{}, func(t *testing.T, r *testRelay) {
			p := filepath.Join(r.dir, "state/repo/apt/dists/stable/InRelease")
			b, _ := os.ReadFile(p)
			os.WriteFile(p, []byte(strings.Replace(string(b), "Origin: tmate-relay", "Origin: tmate-relax", 1)), 0o644)
		}, CheckRepository, Fail, "is not validly signed by"},
		{"repository signing key unreadable", setup{}, func(t *testing.T, r *testRelay) {
			os.Remove(filepath.Join(r.dir, "state", packaging.SigningKeyFile))
		}, CheckRepository, Fail, "signing key:"},

		{"keys directory writable by all", setup{}, chmod("state/keys", 0o777), CheckStateDir, Fail, "keys is writable by others (mode 0777)"},
		{"state directory readable by all", setup{}, chmod("state", 0o755), CheckStateDir, Warn, "more open than 0750 (chmod 0750"},
		{"host key readable by the group", setup{}, chmod("state/keys/ssh_host_ed25519_key", 0o640), CheckStateDir, Fail, "ssh_host_ed25519_key is mode 0640"},
		{"reconnection key readable by all", setup{}, func(t *testing.T, r *testRelay) {
			os.WriteFile(filepath.Join(r.dir, "state", session.ReconnectKeyFile), []byte("secret"), 0o644)
		}, CheckStateDir, Fail, "reconnect-key is mode 0644"},
		{"state of another user", setup{}, func(t *testing.T, r *testRelay) { r.opts.User = otherUser(t) },
			CheckStateDir, Fail, "(chown -R "},

		{"clock before the build", setup{}, func(t *testing.T, r *testRelay) { r.opts.BuildTime = time.Now().Add(time.Hour) },
			CheckClock, Fail, "is before this program was built"},
		{"clock went back", setup{}, func(t *testing.T, r *testRelay) { r.opts.Now = func() time.Time { return time.Now().Add(-2 * hour) } },
			CheckClock, Fail, "is before the repository was signed"},
		{"clock not synchronised", setup{}, func(t *testing.T, r *testRelay) { r.sd.ntp = false },
			CheckClock, Warn, "not synchronised by NTP"},
		{"clock synchronisation unknown", setup{}, func(t *testing.T, r *testRelay) { r.sd.ntpErr = errors.New("timedated not found") },
			CheckClock, Warn, "unknown (timedated not found)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRelay(t, tc.setup)
			if tc.breaks != nil {
				tc.breaks(t, r)
			}
			st, text, found := worst(r.run(t), tc.check)
			if !found || st != tc.want || !strings.Contains(text, tc.text) {
				t.Errorf("%s: %v %q (found %v), want %v with %q", tc.check, st, text, found, tc.want, tc.text)
			}
		})
	}
}

// otherUser is a user that is not the test's.
func otherUser(t *testing.T) string {
	me, _ := user.Current()
	for _, name := range []string{"nobody", "daemon", "root"} {
		if u, err := user.Lookup(name); err == nil && u.Uid != me.Uid {
			return name
		}
	}
	t.Fatal("no other user on this machine")
	return ""
}

func TestDialTargets(t *testing.T) {
	for _, tc := range []struct {
		listen string
		want   string
	}{
		{"0.0.0.0:10022", "127.0.0.1:10022"},
		{":10022", "127.0.0.1:10022"},
		{"[::]:10022", "127.0.0.1:10022 [::1]:10022"},
		{"10081", "127.0.0.1:10081 [::1]:10081"}, // a socket unit's ListenStream=10081
		{"192.0.2.1:10022", "192.0.2.1:10022"},
		{"[2001:db8::1]:10022", "[2001:db8::1]:10022"},
	} {
		if got := strings.Join(dialTargets(tc.listen), " "); got != tc.want {
			t.Errorf("dialTargets(%q) = %q, want %q", tc.listen, got, tc.want)
		}
	}
}

func TestNewestPackage(t *testing.T) {
	index := "Package: elephant-shed-tmate\nVersion: 1.20261203.101711.aaaa\nFilename: pool/a.deb\n\n" +
		"Package: tmate-relay\nVersion: 9.9.9\nFilename: pool/r.deb\n\n" +
		"Package: elephant-shed-tmate\nVersion: 1.20261203.111711.bbbb\nFilename: pool/b.deb\n\n" +
		"Package: elephant-shed-tmate\nVersion: 1.20261202.235959.cccc\nFilename: pool/c.deb\n"
	if v, f := newestPackage(index, "elephant-shed-tmate"); v != "1.20261203.111711.bbbb" || f != "pool/b.deb" {
		t.Errorf("newest: %s %s, want 1.20261203.111711.bbbb pool/b.deb", v, f)
	}
	if v, f := newestPackage(index, "other"); v != "" || f != "" {
		t.Errorf("newest of a package not listed: %q %q", v, f)
	}
}

// A relay just started writes its first repository while the doctor
// asks: the doctor waits for it (503 with Retry-After), within repoWait.
func TestRepositoryBeingWritten(t *testing.T) {
	r := newRelay(t, setup{})
	repo := packaging.LiveRepoDir(r.cfg)
	if err := os.RemoveAll(repo); err != nil {
		t.Fatal(err)
	}
	written := make(chan error, 1)
	time.AfterFunc(time.Second, func() {
		_, err := packaging.BuildRepository(r.cfg, repo)
		written <- err
	})
	res := r.run(t)
	if err := <-written; err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{CheckClientPackage, CheckRepository} {
		if st, text, _ := worst(res, c); st != OK {
			t.Errorf("%s: %v %s, want ok once the repository is written", c, st, text)
		}
	}

	os.RemoveAll(repo)
	defer func(w time.Duration) { repoWait = w }(repoWait)
	repoWait = 2 * time.Second
	if st, text, _ := worst(r.run(t), CheckRepository); st != Fail || !strings.Contains(text, "503 Service Unavailable") {
		t.Errorf("repository never written: %v %s, want fail with 503", st, text)
	}
}

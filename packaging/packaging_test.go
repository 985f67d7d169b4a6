package packaging

import (
	"bytes"
	"debug/elf"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"tmate-relay/debian"
	"tmate-relay/rpm"
	"tmate-relay/service/config"
	"tmate-relay/service/hostkey"
)

// The packages under test, built once per run by built().
type artifacts struct {
	dir        string
	relay      []string          // every tmate-relay package (v1)
	debV1      string            // tmate-relay v1 amd64 .deb
	debV2      string            // a newer build of it, for the upgrade
	rpmByArch  map[string]string // tmate-relay v1 .rpm by rpm arch
	client     []string          // elephant-shed-tmate .deb and .rpm
	clientDeb  string
	clientRPM  string
	relayToml  []byte
	clientConf *config.Config
}

const (
	v1 = "0.1.0~test1"
	v2 = "0.1.0~test2"

	testMaintainer = "Package Tests <package-tests@relay.example.org>"
	testHomepage   = "https://relay.example.org/"
)

var (
	buildOnce sync.Once
	buildArt  *artifacts
	buildErr  error
	workDir   string
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tmate-relay-packaging-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	workDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// need fails (in CI) or skips (elsewhere) when a tool is missing.
func need(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is missing (make deps installs it)", tool)
			}
			t.Skipf("%s is missing (make deps installs it)", tool)
		}
	}
}

func built(t *testing.T) *artifacts {
	t.Helper()
	buildOnce.Do(func() { buildArt, buildErr = build() })
	if buildErr != nil {
		t.Fatalf("building the packages: %v", buildErr)
	}
	return buildArt
}

func build() (*artifacts, error) {
	root, err := filepath.Abs("..")
	if err != nil {
		return nil, err
	}
	a := &artifacts{dir: filepath.Join(workDir, "dist"), rpmByArch: map[string]string{}}
	a.relayToml, err = os.ReadFile(filepath.Join(root, "etc/tmate-relay/relay.toml"))
	if err != nil {
		return nil, err
	}
	r := Relay{Version: v1, Config: a.relayToml, Binaries: map[string]string{}, Maintainer: testMaintainer, Homepage: testHomepage}
	for _, arch := range RelayArches {
		bin := filepath.Join(workDir, "tmate-relay-"+arch)
		if err := BuildBinary(root, arch, v1, testMaintainer, bin); err != nil {
			return nil, err
		}
		r.Binaries[arch] = bin
	}
	if a.relay, err = BuildRelayPackages(r, a.dir); err != nil {
		return nil, err
	}
	for _, p := range a.relay {
		switch {
		case strings.HasSuffix(p, "_amd64.deb"):
			a.debV1 = p
		case strings.HasSuffix(p, ".x86_64.rpm"):
			a.rpmByArch["x86_64"] = p
		case strings.HasSuffix(p, ".aarch64.rpm"):
			a.rpmByArch["aarch64"] = p
		}
	}
	// The newer build: same code, higher version, as an upgrade brings.
	r.Version = v2
	r.Binaries = map[string]string{"amd64": r.Binaries["amd64"]}
	v2pkgs, err := BuildRelayPackages(r, filepath.Join(workDir, "dist-v2"))
	if err != nil {
		return nil, err
	}
	for _, p := range v2pkgs {
		if strings.HasSuffix(p, ".deb") {
			a.debV2 = p
		}
	}

	// A client package for a relay with freshly made keys.
	keys := filepath.Join(workDir, "keys")
	if _, err := hostkey.Generate(keys); err != nil {
		return nil, err
	}
	a.clientConf, err = config.Parse("relay.toml", fmt.Sprintf("[ssh]\nadvertise_host = \"relay.example.org\"\nadvertise_port = 10022\nhost_keys_dir = %q\n", keys))
	if err != nil {
		return nil, err
	}
	if a.client, err = BuildClientPackages(a.clientConf, a.dir); err != nil {
		return nil, err
	}
	for _, p := range a.client {
		if strings.HasSuffix(p, ".deb") {
			a.clientDeb = p
		} else {
			a.clientRPM = p
		}
	}
	if a.debV1 == "" || a.debV2 == "" || len(a.rpmByArch) != 2 || a.clientDeb == "" || a.clientRPM == "" {
		return nil, fmt.Errorf("missing packages: %v %v %v", a.relay, v2pkgs, a.client)
	}
	return a, nil
}

func run(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	return string(out), err
}

func debs(a *artifacts) []string {
	var out []string
	for _, p := range append(append([]string{}, a.relay...), a.client...) {
		if strings.HasSuffix(p, ".deb") {
			out = append(out, p)
		}
	}
	return out
}

func rpms(a *artifacts) []string {
	var out []string
	for _, p := range append(append([]string{}, a.relay...), a.client...) {
		if strings.HasSuffix(p, ".rpm") {
			out = append(out, p)
		}
	}
	return out
}

// Every .deb: lintian --pedantic reports no errors and no warnings; the only
// overrides are the ones in debian/*.lintian-overrides, each with a reason.
func TestLintian(t *testing.T) {
	need(t, "lintian")
	a := built(t)
	for _, p := range debs(a) {
		out, err := run(t, "lintian", "--pedantic", "--fail-on", "error,warning", p)
		t.Logf("lintian %s:\n%s", filepath.Base(p), out)
		if err != nil || regexp.MustCompile(`(?m)^[EW]: `).MatchString(out) {
			t.Errorf("lintian %s: %v\n%s", filepath.Base(p), err, out)
		}
	}
}

// Every .rpm: rpmlint reports no errors and no warnings (settings and
// filters in rpmlintrc.toml, each with a reason).
func TestRpmlint(t *testing.T) {
	need(t, "rpmlint")
	a := built(t)
	for _, p := range rpms(a) {
		out, _ := run(t, "rpmlint", "-c", "rpmlintrc.toml", p)
		t.Logf("rpmlint %s:\n%s", filepath.Base(p), out)
		if regexp.MustCompile(`(?m): [EW]: `).MatchString(out) || !strings.Contains(out, " 0 errors, 0 warnings") {
			t.Errorf("rpmlint %s has errors or warnings:\n%s", filepath.Base(p), out)
		}
	}
}

// Every overridden lintian tag carries a comment that says why.
func TestLintianOverridesHaveReasons(t *testing.T) {
	b := mustRead(debian.Files, "tmate-relay.lintian-overrides")
	var comment bool
	for _, line := range strings.Split(string(b), "\n") {
		switch {
		case strings.HasPrefix(line, "#"):
			comment = true
		case strings.TrimSpace(line) == "":
		default:
			if !comment {
				t.Errorf("override %q has no reason above it", line)
			}
			comment = false
		}
	}
}

func TestRPMScripts(t *testing.T) {
	need(t, "rpm")
	a := built(t)
	out, err := run(t, "rpm", "-qp", "--scripts", a.rpmByArch["x86_64"])
	if err != nil {
		t.Fatalf("rpm --scripts: %v\n%s", err, out)
	}
	t.Logf("rpm -qp --scripts tmate-relay:\n%s", out)
	for _, want := range []string{
		"preinstall scriptlet", "systemd-sysusers", "useradd",
		"postinstall scriptlet", "runuser -u tmate-relay -- /usr/bin/tmate-relay keygen",
		`if [ "$1" -eq 1 ]`, "systemctl --no-reload preset tmate-relay.socket tmate-relay-http.socket",
		"preuninstall scriptlet", `if [ "$1" -eq 0 ]`, "systemctl --no-reload disable --now tmate-relay.socket",
		"postuninstall scriptlet", `if [ "$1" -ge 1 ]`, "try-restart",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("tmate-relay rpm scripts lack %q", want)
		}
	}
	out, err = run(t, "rpm", "-qp", "--scripts", a.clientRPM)
	if err != nil {
		t.Fatalf("rpm --scripts: %v\n%s", err, out)
	}
	for _, want := range []string{"postinstall scriptlet", "source-file /etc/tmate.conf", "postuninstall scriptlet", "cmp -s"} {
		if !strings.Contains(out, want) {
			t.Errorf("client rpm scripts lack %q", want)
		}
	}
	if strings.Contains(out, "tmux.conf\n") || strings.Contains(out, "> /etc/tmux.conf") {
		t.Errorf("client scripts write /etc/tmux.conf")
	}
}

// Installs both rpms into a scratch --root and checks what rpm recorded:
// every file root-owned, the config flags, the verified payload, and that
// the binary is an ELF for the package's architecture.
func TestRPMInstall(t *testing.T) {
	need(t, "rpm", "rpm2cpio", "cpio")
	a := built(t)
	dbroot := t.TempDir()
	pkgs := []string{a.rpmByArch["x86_64"], a.clientRPM}
	if out, err := run(t, "rpm", "--root", dbroot, "-i", "--nodeps", "--noscripts", pkgs[0], pkgs[1]); err != nil {
		t.Fatalf("rpm -i: %v\n%s", err, out)
	}
	out, err := run(t, "rpm", "--root", dbroot, "-qa", "--qf", `[%{FILENAMES} %{FILEUSERNAME}:%{FILEGROUPNAME} %{FILEMODES:perms} %{FILEFLAGS:fflags}\n]`)
	if err != nil {
		t.Fatalf("rpm -qa: %v\n%s", err, out)
	}
	t.Logf("installed files:\n%s", out)
	want := map[string]string{
		"/usr/bin/tmate-relay":                             "-rwxr-xr-x",
		"/etc/tmate-relay/relay.toml":                      "-rw-r--r-- cn",
		"/usr/lib/systemd/system/tmate-relay.socket":       "-rw-r--r--",
		"/usr/lib/systemd/system/tmate-relay-http.socket":  "-rw-r--r--",
		"/usr/lib/systemd/system/tmate-relay-admin.socket": "-rw-r--r--",
		"/usr/lib/systemd/system/tmate-relay.service":      "-rw-r--r--",
		"/usr/lib/sysusers.d/tmate-relay.conf":             "-rw-r--r--",
		"/usr/share/man/man8/tmate-relay.8.gz":             "-rw-r--r-- d",
		"/etc/tmate.conf":                                  "-rw-r--r-- c",
	}
	for _, f := range []string{"tmate-relay-alerts.yml", "tmate-relay-dashboard.json"} {
		want["/usr/share/tmate-relay/"+f] = "-rw-r--r--"
	}
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		if f[1] != "root:root" {
			t.Errorf("%s is owned by %s, want root:root", f[0], f[1])
		}
		got[f[0]] = strings.Join(f[2:], " ")
	}
	for path, attrs := range want {
		if got[path] != attrs {
			t.Errorf("%s: %q, want %q", path, got[path], attrs)
		}
	}
	if out, err := run(t, "rpm", "--root", dbroot, "-V", "--nodeps", "tmate-relay", "elephant-shed-tmate"); err != nil {
		t.Errorf("rpm -V: %v\n%s", err, out)
	}
	// The binary is an ELF of the package's own architecture.
	for rarch, machine := range map[string]elf.Machine{"x86_64": elf.EM_X86_64, "aarch64": elf.EM_AARCH64} {
		dir := t.TempDir()
		cmd := exec.Command("sh", "-c", `rpm2cpio "$1" | cpio -id --quiet --no-absolute-filenames "*usr/bin/tmate-relay"`, "sh", a.rpmByArch[rarch])
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("extract %s: %v\n%s", rarch, err, out)
		}
		f, err := elf.Open(filepath.Join(dir, "usr/bin/tmate-relay"))
		if err != nil {
			t.Fatalf("%s: %v", rarch, err)
		}
		if f.Machine != machine {
			t.Errorf("%s rpm holds a %v binary", rarch, f.Machine)
		}
		f.Close()
	}
}

func TestDebContents(t *testing.T) {
	need(t, "dpkg-deb")
	a := built(t)
	out, err := run(t, "dpkg-deb", "-c", a.debV1)
	if err != nil {
		t.Fatal(err, out)
	}
	for _, p := range []string{"./usr/bin/tmate-relay", "./usr/lib/systemd/system/tmate-relay.socket",
		"./usr/lib/systemd/system/tmate-relay-http.socket", "./usr/lib/systemd/system/tmate-relay.service",
		"./usr/lib/systemd/system/tmate-relay-admin.socket",
		"./etc/tmate-relay/relay.toml", "./etc/logrotate.d/tmate-relay", "./usr/share/man/man8/tmate-relay.8.gz",
		"./usr/share/doc/tmate-relay/copyright", "./usr/share/doc/tmate-relay/changelog.Debian.gz",
		"./usr/share/tmate-relay/tmate-relay-alerts.yml", "./usr/share/tmate-relay/tmate-relay-dashboard.json",
		"./usr/share/doc/tmate-relay/examples/cluster/haproxy.cfg", "./usr/share/doc/tmate-relay/examples/cluster/relay-node.toml"} {
		if !strings.Contains(out, " "+p+"\n") {
			t.Errorf("%s lacks %s", filepath.Base(a.debV1), p)
		}
	}
	if strings.Contains(out, "./lib/") || strings.Contains(out, "etc/skel") || strings.Contains(out, "./root") {
		t.Errorf("unexpected paths:\n%s", out)
	}
	for deb, want := range map[string]string{a.debV1: "/etc/logrotate.d/tmate-relay\n/etc/tmate-relay/relay.toml\n", a.clientDeb: "/etc/tmate.conf\n"} {
		out, err := run(t, "dpkg-deb", "-I", deb, "conffiles")
		if err != nil || out != want {
			t.Errorf("%s conffiles %q (%v), want %q", filepath.Base(deb), out, err, want)
		}
	}
	out, _ = run(t, "dpkg-deb", "-f", a.clientDeb, "Architecture", "Depends")
	if !strings.Contains(out, "Architecture: all") || !strings.Contains(out, "Depends: tmate (>= 2.4)") {
		t.Errorf("client control fields:\n%s", out)
	}
	out, _ = run(t, "dpkg-deb", "--fsys-tarfile", a.clientDeb)
	_ = out
	conf, err := exec.Command("sh", "-c", `dpkg-deb --fsys-tarfile "$1" | tar -xOf - ./etc/tmate.conf`, "sh", a.clientDeb).Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"set -g tmate-server-host relay.example.org\n", "set -g tmate-server-port 10022\n",
		"set -g tmate-server-ed25519-fingerprint SHA256:", "set -g tmate-server-rsa-fingerprint SHA256:",
		// what tmate 2.4.0 says of a fingerprint that does not match, and
		// how to compare
		`"Cannot authenticate server"`, "#   ssh-keyscan -p 10022 relay.example.org | ssh-keygen -lf -\n"} {
		if !bytes.Contains(conf, []byte(want)) {
			t.Errorf("/etc/tmate.conf lacks %q:\n%s", want, conf)
		}
	}
	if bytes.Contains(conf, []byte("not recognized")) {
		t.Errorf("/etc/tmate.conf names a message tmate 2.4.0 never prints:\n%s", conf)
	}
}

// Both packages in both formats: MIT, a URL, the maintainer the build was
// given (the client package: the relay's own, as this test process was
// built without one).
func TestPackageMetadata(t *testing.T) {
	need(t, "dpkg-deb", "rpm")
	a := built(t)
	clientMaint := "tmate-relay on relay.example.org <tmate-relay@relay.example.org>"
	for _, tc := range []struct {
		pkg, maintainer, homepage string
	}{
		{a.debV1, testMaintainer, testHomepage},
		{a.clientDeb, clientMaint, "http://relay.example.org:10081/"},
	} {
		out, err := run(t, "dpkg-deb", "-f", tc.pkg, "Maintainer", "Homepage")
		if want := "Maintainer: " + tc.maintainer + "\nHomepage: " + tc.homepage + "\n"; err != nil || out != want {
			t.Errorf("%s: %v\n%s\nwant\n%s", filepath.Base(tc.pkg), err, out, want)
		}
		cr, err := exec.Command("sh", "-c", `dpkg-deb --fsys-tarfile "$1" | tar -xOf - --wildcards './usr/share/doc/*/copyright'`, "sh", tc.pkg).Output()
		if err != nil || !bytes.HasPrefix(cr, []byte("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n")) ||
			!bytes.Contains(cr, []byte("Files: *\nCopyright: 2026 The tmate-relay authors\nLicense: Expat\n")) {
			t.Errorf("%s: copyright (%v):\n%s", filepath.Base(tc.pkg), err, cr)
		}
	}
	for _, tc := range []struct {
		pkg, maintainer, homepage string
	}{
		{a.rpmByArch["x86_64"], testMaintainer, testHomepage},
		{a.clientRPM, clientMaint, "http://relay.example.org:10081/"},
	} {
		out, err := run(t, "rpm", "-qp", "--qf", "%{LICENSE}|%{URL}|%{PACKAGER}", tc.pkg)
		if want := "MIT|" + tc.homepage + "|" + tc.maintainer; err != nil || out != want {
			t.Errorf("%s: %v\n%s\nwant\n%s", filepath.Base(tc.pkg), err, out, want)
		}
	}
}

// The client version is stable while the content is, and rises when it
// changes (here: a new port).
func TestClientVersionRises(t *testing.T) {
	need(t, "dpkg")
	a := built(t)
	again, err := BuildClientPackages(a.clientConf, a.dir)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(again, " ") != strings.Join(a.client, " ") {
		t.Errorf("unchanged content rebuilt as %v, want %v", again, a.client)
	}
	changed := *a.clientConf
	changed.SSH.AdvertisePort = 2222
	out := t.TempDir()
	// Copy the old packages: the new ones go beside them as in a repository.
	for _, p := range a.client {
		b, _ := os.ReadFile(p)
		os.WriteFile(filepath.Join(out, filepath.Base(p)), b, 0o644)
	}
	time.Sleep(1100 * time.Millisecond) // the version has one-second resolution
	next, err := BuildClientPackages(&changed, out)
	if err != nil {
		t.Fatal(err)
	}
	oldV, newV := ClientVersion(a.clientDeb), ClientVersion(next[0])
	if cmd := exec.Command("dpkg", "--compare-versions", newV, "gt", oldV); cmd.Run() != nil {
		t.Errorf("version %s does not rise above %s", newV, oldV)
	}
	if rpmV := ClientVersion(next[1]); rpmV != newV {
		t.Errorf("rpm version %s, deb %s", rpmV, newV)
	}
}

// The text the client's scripts write and the text they remove must be the
// same in all four scripts, or purge would leave or take the wrong files.
func TestClientScriptsAgree(t *testing.T) {
	re := regexp.MustCompile(`(?s)cat <<'CONF'\n(.*?)\nCONF\n`)
	var first string
	for name, fsys := range map[string]fs.FS{
		"debian/elephant-shed-tmate.postinst": debian.Files, "debian/elephant-shed-tmate.postrm": debian.Files,
		"rpm/elephant-shed-tmate.post": rpm.Files, "rpm/elephant-shed-tmate.postun": rpm.Files,
	} {
		m := re.FindSubmatch(mustRead(fsys, filepath.Base(name)))
		if m == nil {
			t.Fatalf("%s: no user file text", name)
		}
		if !strings.Contains(string(m[1]), "source-file /etc/tmate.conf") {
			t.Errorf("%s: user file does not source /etc/tmate.conf", name)
		}
		if first == "" {
			first = string(m[1])
		} else if string(m[1]) != first {
			t.Errorf("%s writes or removes other text:\n%s\nvs\n%s", name, m[1], first)
		}
	}
}

// The service's hardening: systemd-analyze security must score 2.0 or less.
func TestSecurityExposure(t *testing.T) {
	need(t, "systemd-analyze")
	out, _ := run(t, "systemd-analyze", "security", "--offline=true", "../systemd/tmate-relay.service")
	m := regexp.MustCompile(`Overall exposure level for tmate-relay.service: ([0-9.]+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no exposure level:\n%s", out)
	}
	level, _ := strconv.ParseFloat(m[1], 64)
	t.Logf("systemd-analyze security exposure: %.1f", level)
	if level > 2.0 {
		t.Errorf("exposure %.1f > 2.0:\n%s", level, out)
	}
}

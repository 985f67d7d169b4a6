package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goreleaser/nfpm/v2"
	_ "github.com/goreleaser/nfpm/v2/rpm"

	"tmate-relay/packaging"
	"tmate-relay/service/config"
	"tmate-relay/service/hostkey"
)

// needTool fails (in CI) or skips (elsewhere) when a tool is missing.
func needTool(t *testing.T, tools ...string) {
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

// repoRelay is a relay's web side on a real port with its state in a
// temporary directory; the repository is not written yet.
func repoRelay(t *testing.T) (*config.Config, *httptest.Server) {
	t.Helper()
	state := t.TempDir()
	cfg := config.Default()
	cfg.SSH.HostKeysDir = filepath.Join(state, "keys")
	cfg.SSH.AdvertiseHost = "relay.example"
	if _, err := hostkey.Generate(cfg.SSH.HostKeysDir); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	cfg.Web.PublicURL = "http://" + srv.Listener.Addr().String()
	srv.Config.Handler = Handler(cfg)
	srv.Start()
	t.Cleanup(srv.Close)
	return cfg, srv
}

func get(t *testing.T, url string) (int, http.Header, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

func fetch(t *testing.T, url, dir string) string {
	t.Helper()
	code, _, b := get(t, url)
	if code != 200 {
		t.Fatalf("GET %s: %d\n%s", url, code, b)
	}
	p := filepath.Join(dir, filepath.Base(url))
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// The served repositories: 503 before the first build, then every path;
// gpgv verifies InRelease and Release.gpg with the served key; rpm -K
// verifies the served rpm; dnf with gpgcheck=1 and repo_gpgcheck=1 loads the
// metadata and installs elephant-shed-tmate into a scratch --installroot.
func TestServedRepositories(t *testing.T) {
	needTool(t, "gpgv", "rpm", "dnf", "createrepo_c")
	cfg, srv := repoRelay(t)
	if code, _, _ := get(t, srv.URL+"/apt/dists/stable/InRelease"); code != http.StatusServiceUnavailable {
		t.Errorf("before the first build: %d, want 503", code)
	}
	start := time.Now()
	res, err := packaging.BuildRepository(cfg, packaging.LiveRepoDir(cfg))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("repository built in %v (key created: %v): %v", time.Since(start).Round(time.Millisecond), res.KeyCreated, res.Packages)
	for path, want := range map[string]string{
		"/tmate-relay.asc":                             "-----BEGIN PGP PUBLIC KEY BLOCK-----",
		"/apt/dists/stable/Release":                    "Valid-Until: ",
		"/apt/dists/stable/main/binary-amd64/Packages": "Package: elephant-shed-tmate",
		"/apt/dists/stable/main/binary-all/Packages":   "Package: elephant-shed-tmate",
		"/apt/tmate-relay.sources":                     "Signed-By: /usr/share/keyrings/tmate-relay.gpg",
		"/yum/repodata/repomd.xml":                     `<data type="primary">`,
		"/yum/tmate-relay.repo":                        "repo_gpgcheck=1",
	} {
		code, h, b := get(t, srv.URL+path)
		if code != 200 || !strings.Contains(string(b), want) {
			t.Errorf("%s: %d, lacks %q:\n%s", path, code, want, b)
		}
		if strings.HasSuffix(path, "Release") && h.Get("Cache-Control") != "no-cache" {
			t.Errorf("%s: Cache-Control %q", path, h.Get("Cache-Control"))
		}
	}
	for _, path := range []string{"/apt/", "/yum/repodata/", "/apt/../../repo-signing-key", "/repo-signing-key"} {
		if code, _, b := get(t, srv.URL+path); code == 200 {
			t.Errorf("%s: 200\n%s", path, b)
		}
	}

	// gpgv with the exported binary keyring, as apt runs it.
	dir := t.TempDir()
	keyring := fetch(t, srv.URL+"/tmate-relay.gpg", dir)
	inRelease := fetch(t, srv.URL+"/apt/dists/stable/InRelease", dir)
	release := fetch(t, srv.URL+"/apt/dists/stable/Release", dir)
	releaseSig := fetch(t, srv.URL+"/apt/dists/stable/Release.gpg", dir)
	t.Logf("gpgv InRelease:\n%s", run(t, "gpgv", "--keyring", keyring, inRelease))
	t.Logf("gpgv Release.gpg:\n%s", run(t, "gpgv", "--keyring", keyring, releaseSig, release))

	// rpm -K with the armored key imported into a scratch database.
	rpmName := ""
	for _, p := range res.Packages {
		if strings.HasSuffix(p, ".rpm") {
			rpmName = p
		}
	}
	rpmFile := fetch(t, srv.URL+"/yum/packages/"+rpmName, dir)
	db := t.TempDir()
	run(t, "rpm", "--dbpath", db, "--import", fetch(t, srv.URL+"/tmate-relay.asc", dir))
	out := run(t, "rpm", "--dbpath", db, "-Kv", rpmFile)
	t.Logf("rpm -Kv:\n%s", out)
	if !strings.Contains(out, "Header V4 RSA/SHA256 Signature, key ID") || strings.Contains(out, "NOKEY") || strings.Contains(out, "BAD") {
		t.Errorf("rpm -K:\n%s", out)
	}

	// dnf: the served .repo file as is, plus a local repository (no gpg) with
	// stand-ins for what elephant-shed-tmate requires.
	reposd := t.TempDir()
	fetch(t, srv.URL+"/yum/tmate-relay.repo", reposd)
	deps := t.TempDir()
	for _, name := range []string{"tmate", "util-linux"} {
		stubRPM(t, name, deps)
	}
	run(t, "createrepo_c", "-q", deps)
	os.WriteFile(filepath.Join(reposd, "deps.repo"), []byte("[deps]\nname=deps\nbaseurl=file://"+deps+"\ngpgcheck=0\n"), 0o644)
	root := t.TempDir()
	dnf := []string{"-y", "--installroot=" + root, "--releasever=9", "--setopt=reposdir=" + reposd,
		"--setopt=tsflags=noscripts", "--setopt=cachedir=" + filepath.Join(root, "var/cache/dnf")}
	out = run(t, "dnf", append(dnf, "--repo=tmate-relay", "repoquery", "--info", packaging.ClientName)...)
	if !strings.Contains(out, "Name         : "+packaging.ClientName) {
		t.Errorf("repoquery:\n%s", out)
	}
	out = run(t, "dnf", append(dnf, "install", packaging.ClientName)...)
	t.Logf("dnf install:\n%s", out)
	if !strings.Contains(out, "Importing GPG key") || !strings.Contains(out, res.Fingerprint[len(res.Fingerprint)-8:]) &&
		!strings.Contains(strings.ReplaceAll(out, " ", ""), res.Fingerprint) {
		t.Errorf("dnf did not import the relay's key %s", res.Fingerprint)
	}
	out = run(t, "rpm", "--root", root, "-q", "--qf", "%{NAME} %{SIGPGP:pgpsig}\n", packaging.ClientName)
	t.Logf("installed: %s", out)
	if !strings.Contains(out, "RSA/SHA256") {
		t.Errorf("installed package not signed: %s", out)
	}

	// repo_gpgcheck is enforced: a repomd.xml changed after signing is refused.
	repomd := filepath.Join(packaging.LiveRepoDir(cfg), "yum/repodata/repomd.xml")
	b, _ := os.ReadFile(repomd)
	os.WriteFile(repomd, append(b, []byte("<!-- changed -->\n")...), 0o644)
	other := t.TempDir()
	cmd := exec.Command("dnf", "-y", "--installroot="+other, "--releasever=9", "--setopt=reposdir="+reposd,
		"--setopt=cachedir="+filepath.Join(other, "cache"), "--setopt=skip_if_unavailable=False", "--repo=tmate-relay", "makecache")
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "GPG signature verification error") {
		t.Errorf("dnf accepted a changed repomd.xml:\n%s", out)
	} else {
		t.Logf("changed repomd.xml refused: %v: %s", err, lastLine(string(out)))
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// stubRPM writes an empty noarch rpm NAME 2.4.0 into dir.
func stubRPM(t *testing.T, name, dir string) {
	t.Helper()
	info := nfpm.WithDefaults(&nfpm.Info{Name: name, Arch: "all", Platform: "linux", Version: "2.4.0",
		Release: "1", Maintainer: "test <test@example.org>", Description: "stand-in", License: "MIT"})
	p, err := nfpm.Get("rpm")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, name+".rpm"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := p.Package(info, f); err != nil {
		t.Fatal(err)
	}
}

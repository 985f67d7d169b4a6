package packaging

import (
	"bytes"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/goreleaser/nfpm/v2"
	"github.com/goreleaser/nfpm/v2/files"

	"tmate-relay/debian"
	"tmate-relay/etc"
	"tmate-relay/packaging/cluster"
	"tmate-relay/packaging/man"
	"tmate-relay/packaging/monitoring"
	"tmate-relay/rpm"
	"tmate-relay/systemd"
)

// BaseVersion is the relay's upstream version; a build from git appends
// ~gitYYYYMMDDhhmmss.HASH (see GitVersion), so every commit sorts above the
// one before and below the release BaseVersion itself.
const BaseVersion = "0.1.1"

// DefaultHomepage is the relay package's URL unless the build names its
// own (make HOMEPAGE=...): tmate-relay has no public page of its own, and
// tmate.io documents the client every host runs and the relay serves.
const DefaultHomepage = "https://tmate.io/"

// RelayArches are the Go architectures the relay is built and packaged for
// (deb amd64/arm64, rpm x86_64/aarch64).
var RelayArches = []string{"amd64", "arm64"}

// Relay is what a build of the tmate-relay package needs.
type Relay struct {
	// Version is BaseVersion or BaseVersion~PRERELEASE, e.g.
	// 0.1.0~git20261126154000.c053206: dpkg and rpm both sort "~" first.
	Version string
	// Binaries maps a Go architecture to the built tmate-relay for it.
	Binaries map[string]string
	// Config is the default /etc/tmate-relay/relay.toml.
	Config []byte
	// MTime stamps every file (reproducible builds); zero means now.
	MTime time.Time
	// Maintainer answers for the package, "Name <mail>" (CheckMaintainer).
	Maintainer string
	// Homepage is the package's URL (rpm URL, deb Homepage).
	Homepage string
}

var versionRe = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+(~[A-Za-z0-9.]+)?$`)

// relaySpec describes the tmate-relay package for one architecture.
func relaySpec(r Relay, arch string) (spec, error) {
	if !versionRe.MatchString(r.Version) {
		return spec{}, fmt.Errorf("version %q: want N.N.N or N.N.N~ALNUM.DOTS", r.Version)
	}
	if err := CheckMaintainer(r.Maintainer); err != nil {
		return spec{}, err
	}
	if err := checkHomepage(r.Homepage); err != nil {
		return spec{}, err
	}
	bin, err := os.ReadFile(r.Binaries[arch])
	if err != nil {
		return spec{}, fmt.Errorf("binary for %s: %w", arch, err)
	}
	version, pre, _ := strings.Cut(r.Version, "~")
	mtime := r.MTime
	if mtime.IsZero() {
		mtime = time.Now()
	}
	changelog, err := withBuildEntry(mustRead(debian.Files, "changelog"), "tmate-relay", r.Version+"-1", r.Maintainer, mtime)
	if err != nil {
		return spec{}, err
	}
	doc := "/usr/share/doc/tmate-relay/"
	share := "/usr/share/tmate-relay/" // Prometheus alert rules, Grafana dashboard
	s := spec{
		name: "tmate-relay", arch: arch, version: version, prerelease: pre, release: "1",
		section: "net", maintainer: r.Maintainer, homepage: r.Homepage,
		summary: "Self-hosted relay for tmate terminal sharing",
		description: " tmate-relay lets hosts share terminals with the stock tmate client through\n" +
			" a relay the organisation runs itself; guests join with plain ssh or a web\n" +
			" browser. One Go process replaces tmate-ssh-server: it decodes each host's\n" +
			" stream and draws the session for every guest.\n" +
			" .\n" +
			" systemd starts the relay on the first connection (socket activation on\n" +
			" ports 10022 and 10081) under its own unprivileged system user. Host keys\n" +
			" are created on installation and kept across upgrades.",
		depends: map[string][]string{
			"deb": {"init-system-helpers (>= 1.54~)"},
			"rpm": {"systemd", "shadow-utils"},
		},
		// Rotates the audit file when there is one ([audit] file).
		recommends: []string{"logrotate"},
		mtime:      mtime,
		changelog:  changelog,
		files: []file{
			{dst: "/usr/bin/tmate-relay", data: bin, mode: 0o755},
			{dst: "/usr/lib/systemd/system/tmate-relay.socket", data: mustRead(systemd.Files, "tmate-relay.socket"), mode: 0o644},
			{dst: "/usr/lib/systemd/system/tmate-relay-http.socket", data: mustRead(systemd.Files, "tmate-relay-http.socket"), mode: 0o644},
			{dst: "/usr/lib/systemd/system/tmate-relay-admin.socket", data: mustRead(systemd.Files, "tmate-relay-admin.socket"), mode: 0o644},
			{dst: "/usr/lib/systemd/system/tmate-relay.service", data: mustRead(systemd.Files, "tmate-relay.service"), mode: 0o644},
			{dst: "/usr/lib/sysusers.d/tmate-relay.conf", data: mustRead(systemd.Files, "tmate-relay.sysusers"), mode: 0o644},
			{dst: "/etc/tmate-relay/relay.toml", data: r.Config, mode: 0o644, typ: files.TypeConfigNoReplace},
			{dst: "/etc/logrotate.d/tmate-relay", data: mustRead(etc.Files, "logrotate.d/tmate-relay"), mode: 0o644, typ: files.TypeConfigNoReplace},
			{dst: "/usr/share/man/man8/tmate-relay.8.gz", data: gz(mustRead(man.Files, "tmate-relay.8")), mode: 0o644, only: "deb"},
			{dst: "/usr/share/man/man8/tmate-relay.8.gz", data: gz(mustRead(man.Files, "tmate-relay.8")), mode: 0o644, typ: files.TypeRPMDoc, only: "rpm"},
			{dst: share + monitoring.Alerts, data: mustRead(monitoring.Files, monitoring.Alerts), mode: 0o644},
			{dst: share + monitoring.Dashboard, data: mustRead(monitoring.Files, monitoring.Dashboard), mode: 0o644},
			{dst: doc + "examples/cluster/haproxy.cfg", data: mustRead(cluster.Files, "haproxy.cfg"), mode: 0o644, only: "deb"},
			{dst: doc + "examples/cluster/haproxy.cfg", data: mustRead(cluster.Files, "haproxy.cfg"), mode: 0o644, typ: files.TypeRPMDoc, only: "rpm"},
			{dst: doc + "examples/cluster/relay-node.toml", data: mustRead(cluster.Files, "relay-node.toml"), mode: 0o644, only: "deb"},
			{dst: doc + "examples/cluster/relay-node.toml", data: mustRead(cluster.Files, "relay-node.toml"), mode: 0o644, typ: files.TypeRPMDoc, only: "rpm"},
			{dst: doc + "copyright", data: mustRead(debian.Files, "copyright"), mode: 0o644, only: "deb"},
			{dst: doc + "changelog.Debian.gz", data: gz(changelog), mode: 0o644, only: "deb"},
			{dst: "/usr/share/lintian/overrides/tmate-relay", data: mustRead(debian.Files, "tmate-relay.lintian-overrides"), mode: 0o644, only: "deb"},
			{dst: "/usr/share/licenses/tmate-relay/copyright", data: mustRead(debian.Files, "copyright"), mode: 0o644, typ: files.TypeRPMLicense, only: "rpm"},
		},
	}
	return s, nil
}

// BuildRelayPackages writes tmate-relay .deb and .rpm files for every
// architecture in r.Binaries into outDir and returns their paths.
func BuildRelayPackages(r Relay, outDir string) ([]string, error) {
	scripts, err := os.MkdirTemp("", "tmate-relay-scripts-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(scripts)
	debScripts, err := stageScripts(scripts, "deb", debian.Files, "tmate-relay.", []string{"postinst", "prerm", "postrm"})
	if err != nil {
		return nil, err
	}
	rpmScripts, err := stageScripts(scripts, "rpm", rpm.Files, "tmate-relay.", []string{"pre", "post", "preun", "postun"})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, arch := range RelayArches {
		if _, ok := r.Binaries[arch]; !ok {
			continue
		}
		s, err := relaySpec(r, arch)
		if err != nil {
			return nil, err
		}
		s.scripts = map[string]nfpm.Scripts{"deb": debScripts, "rpm": rpmScripts}
		paths, err := s.build(outDir)
		if err != nil {
			return nil, err
		}
		out = append(out, paths...)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no binaries for %v", RelayArches)
	}
	return out, nil
}

// stageScripts writes the maintainer scripts PREFIX+KIND from fsys into dir
// (nfpm takes scripts as paths) and maps them onto nfpm's fields: deb
// preinst/postinst/prerm/postrm and rpm %pre/%post/%preun/%postun share them.
func stageScripts(dir, format string, fsys interface {
	ReadFile(string) ([]byte, error)
}, prefix string, kinds []string) (nfpm.Scripts, error) {
	var s nfpm.Scripts
	for _, kind := range kinds {
		b, err := fsys.ReadFile(prefix + kind)
		if err != nil {
			return s, err
		}
		path := filepath.Join(dir, format+"-"+prefix+kind)
		if err := os.WriteFile(path, b, 0o755); err != nil {
			return s, err
		}
		switch kind {
		case "preinst", "pre":
			s.PreInstall = path
		case "postinst", "post":
			s.PostInstall = path
		case "prerm", "preun":
			s.PreRemove = path
		case "postrm", "postun":
			s.PostRemove = path
		default:
			return s, fmt.Errorf("unknown script kind %q", kind)
		}
	}
	return s, nil
}

// checkHomepage refuses a URL rpm and dpkg tools would not take as one.
func checkHomepage(u string) error {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "https" && p.Scheme != "http") || !strings.Contains(p.Host, ".") {
		return fmt.Errorf("homepage %q: want an http(s) URL with a domain", u)
	}
	return nil
}

// withBuildEntry returns the Debian changelog text with an entry for
// version on top when its latest entry is for another version (a build
// from git between releases), so that the changelogs of both formats name
// the package's own version (rpmlint: incoherent-version-in-changelog).
func withBuildEntry(text []byte, name, version, maintainer string, date time.Time) ([]byte, error) {
	m := debHeadRe.FindSubmatch(bytes.SplitN(text, []byte("\n"), 2)[0])
	if m == nil {
		return nil, fmt.Errorf("changelog: the first line is no entry header")
	}
	if string(m[2]) == version {
		return text, nil
	}
	entry := fmt.Sprintf("%s (%s) UNRELEASED; urgency=medium\n\n"+
		"  * Built from the source tree, not a release: changes since %s are in\n"+
		"    the version control history.\n\n"+
		" -- %s  %s\n\n", name, version, m[2], maintainer, date.UTC().Format(time.RFC1123Z))
	return append([]byte(entry), text...), nil
}

// GitVersion is BaseVersion~gitYYYYMMDDhhmmss.HASH for the commit checked
// out in dir (commit time, UTC), with ".dirty" when the tree has changes.
func GitVersion(dir string) (string, error) {
	out, err := exec.Command("git", "-C", dir, "log", "-1", "--format=%ct %h").Output()
	if err != nil {
		return "", fmt.Errorf("git log: %w", err)
	}
	var ct int64
	var hash string
	if _, err := fmt.Sscanf(string(out), "%d %s", &ct, &hash); err != nil {
		return "", fmt.Errorf("git log: %q: %w", out, err)
	}
	v := BaseVersion + "~git" + time.Unix(ct, 0).UTC().Format("20060102150405") + "." + hash
	if st, err := exec.Command("git", "-C", dir, "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(st) > 0 {
		v += ".dirty"
	}
	return v, nil
}

// BuildBinary cross-compiles cmd/tmate-relay of the module in root for arch
// (CGO_ENABLED=0, so the binary runs on any glibc or none) into out. The
// relay names maintainer in the client packages it writes.
func BuildBinary(root, arch, version, maintainer, out string) error {
	cmd := exec.Command("go", "build", "-trimpath",
		"-ldflags", "-s -w -X main.version="+version+" -X "+strconv.Quote("tmate-relay/packaging.Maintainer="+maintainer),
		"-o", out, "./cmd/tmate-relay")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
	cmd.Stdout = os.Stderr
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build %s: %w", arch, err)
	}
	return nil
}

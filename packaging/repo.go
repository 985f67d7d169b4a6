package packaging

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"tmate-relay/service/config"
)

// The relay's own package repositories, one tree that a web server (the
// relay itself, or any static one) serves as is:
//
//	tmate-relay.asc                 the signing key, armored
//	tmate-relay.gpg                 the same as a binary keyring (apt signed-by=)
//	apt/dists/stable/{Release,InRelease,Release.gpg}
//	apt/dists/stable/main/binary-{amd64,arm64,all}/Packages{,.gz} (+ by-hash/SHA256/)
//	apt/pool/main/e/elephant-shed-tmate/*.deb
//	apt/tmate-relay.sources         a deb822 sources entry for this relay
//	yum/repodata/repomd.xml{,.asc}, *-{primary,filelists,other}.xml.gz
//	yum/packages/*.rpm              signed with the same key
//	yum/tmate-relay.repo            a dnf/yum .repo file for this relay
//
// The tree is written beside the old one and swapped in with one rename, so
// nobody ever sees a half-written repository.

// Repository names.
const (
	RepoSuite     = "stable"
	RepoComponent = "main"
	// RepoKeyName names the key files and the repository in .repo and
	// .sources files.
	RepoKeyName = "tmate-relay"
	// RepoDirName is the live repository's directory in the state
	// directory.
	RepoDirName = "repo"
	// keepClientVersions is how many client package versions stay in the
	// repository, so that a host with slightly old indexes still finds the
	// file they name.
	keepClientVersions = 3
)

// RepoArches are the Debian architectures with their own index; packages
// for "all" are listed in each of them as well as in binary-all.
var RepoArches = []string{"amd64", "arm64"}

// StateDir is the relay's state directory: the parent of the host keys
// directory (/var/lib/tmate-relay).
func StateDir(cfg *config.Config) string { return filepath.Dir(cfg.SSH.HostKeysDir) }

// SigningKeyPath is where the repository signing key lives for cfg.
func SigningKeyPath(cfg *config.Config) string {
	return filepath.Join(StateDir(cfg), SigningKeyFile)
}

// LiveRepoDir is where the relay keeps the repository it serves.
func LiveRepoDir(cfg *config.Config) string { return filepath.Join(StateDir(cfg), RepoDirName) }

// Repository is what one repository tree holds.
type Repository struct {
	Key      *SigningKey
	Packages []string // .deb and .rpm files
	// WebURL is the relay's web address (config.WebURL), written into the
	// .repo and .sources files.
	WebURL   string
	ValidFor time.Duration
	Now      time.Time
}

// RepoResult describes a written repository.
type RepoResult struct {
	Dir         string
	Fingerprint string
	KeyCreated  bool
	Packages    []string // file names published
	Date        time.Time
	ValidUntil  time.Time
}

// BuildRepository writes the signed repositories for cfg into out: the
// client package for this relay (built only when its content changed; the
// last few versions are kept), every .deb and .rpm in [repo] packages_dir,
// signed with the key at SigningKeyPath (created on first use). out is
// replaced as a whole.
func BuildRepository(cfg *config.Config, out string) (*RepoResult, error) {
	key, created, err := LoadOrCreateSigningKey(SigningKeyPath(cfg))
	if err != nil {
		return nil, err
	}
	out = filepath.Clean(out)
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return nil, err
	}
	removeStale(out)
	// Client packages: the old ones from the current tree, so an unchanged
	// configuration keeps its version, plus a new one if it changed.
	stage, err := os.MkdirTemp(filepath.Dir(out), "."+filepath.Base(out)+".client-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(stage)
	old, _ := filepath.Glob(filepath.Join(out, "apt/pool/main/e", ClientName, ClientName+"_*_all.deb"))
	oldRPM, _ := filepath.Glob(filepath.Join(out, "yum/packages", ClientName+"-*.noarch.rpm"))
	for _, p := range append(old, oldRPM...) {
		if err := linkOrCopy(p, filepath.Join(stage, filepath.Base(p))); err != nil {
			return nil, err
		}
	}
	if _, err := BuildClientPackages(cfg, stage); err != nil {
		return nil, err
	}
	pkgs, err := newestClients(stage, keepClientVersions)
	if err != nil {
		return nil, err
	}
	if dir := cfg.Repo.PackagesDir; dir != "" {
		for _, pattern := range []string{"*.deb", "*.rpm"} {
			m, err := filepath.Glob(filepath.Join(dir, pattern))
			if err != nil {
				return nil, err
			}
			sort.Strings(m)
			pkgs = append(pkgs, m...)
		}
		if _, err := os.Stat(dir); err != nil {
			return nil, fmt.Errorf("[repo] packages_dir: %w", err)
		}
	}
	r := Repository{Key: key, Packages: pkgs, WebURL: cfg.WebURL(), ValidFor: cfg.Repo.ValidFor, Now: time.Now()}
	res, err := r.Publish(out)
	if err != nil {
		return nil, err
	}
	res.KeyCreated = created
	return res, nil
}

// removeStale removes what a build stopped half-way (the relay stopped or
// killed) left beside out: work directories more than an hour old.
func removeStale(out string) {
	m, _ := filepath.Glob(filepath.Join(filepath.Dir(out), "."+filepath.Base(out)+".*-*"))
	for _, p := range m {
		if fi, err := os.Lstat(p); err == nil && fi.IsDir() && time.Since(fi.ModTime()) > time.Hour {
			os.RemoveAll(p)
		}
	}
}

// newestClients returns the client packages in dir of the newest n versions.
func newestClients(dir string, n int) ([]string, error) {
	m, err := filepath.Glob(filepath.Join(dir, ClientName+"*"))
	if err != nil {
		return nil, err
	}
	versions := map[string]bool{}
	for _, p := range m {
		versions[ClientVersion(p)] = true
	}
	var vs []string
	for v := range versions {
		vs = append(vs, v)
	}
	sort.Strings(vs) // 1.YYYYMMDD.hhmmss.HASH: fixed width, sorts by time
	if len(vs) > n {
		vs = vs[len(vs)-n:]
	}
	keep := map[string]bool{}
	for _, v := range vs {
		keep[v] = true
	}
	var out []string
	for _, p := range m {
		if keep[ClientVersion(p)] {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out, nil
}

// Publish writes the repository into a new directory beside out, carries
// over the previous generation's by-hash indexes (so an apt client that
// fetched the old InRelease a moment ago still gets its Packages), and swaps
// it in for out atomically.
func (r Repository) Publish(out string) (*RepoResult, error) {
	out = filepath.Clean(out)
	tmp, err := os.MkdirTemp(filepath.Dir(out), "."+filepath.Base(out)+".new-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	if err := os.Chmod(tmp, 0o755); err != nil {
		return nil, err
	}
	res, err := r.Write(tmp)
	if err != nil {
		return nil, err
	}
	carryByHash(out, tmp)
	if err := swapDir(tmp, out); err != nil {
		return nil, err
	}
	res.Dir = out
	return res, nil
}

// swapDir puts the directory tmp at out: a rename when out is new, an
// atomic exchange (renameat2 RENAME_EXCHANGE) when it exists, after which
// tmp holds the old tree (the caller removes it).
func swapDir(tmp, out string) error {
	if _, err := os.Lstat(out); errors.Is(err, fs.ErrNotExist) {
		return os.Rename(tmp, out)
	}
	err := unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, out, unix.RENAME_EXCHANGE)
	if err == nil {
		return nil
	}
	if !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOSYS) {
		return fmt.Errorf("swapping in %s: %w", out, err)
	}
	// A file system without RENAME_EXCHANGE: two renames, a moment with
	// no repository at all (never a half-written one).
	old := tmp + ".old"
	if err := os.Rename(out, old); err != nil {
		return err
	}
	if err := os.Rename(tmp, out); err != nil {
		os.Rename(old, out)
		return err
	}
	return os.Rename(old, tmp)
}

// carryByHash copies into the new tree the by-hash files of the old tree's
// current indexes.
func carryByHash(oldTree, newTree string) {
	dirs, _ := filepath.Glob(filepath.Join(oldTree, "apt/dists", RepoSuite, RepoComponent, "binary-*"))
	for _, d := range dirs {
		rel, _ := filepath.Rel(oldTree, d)
		for _, name := range []string{"Packages", "Packages.gz"} {
			b, err := os.ReadFile(filepath.Join(d, name))
			if err != nil {
				continue
			}
			sum := sha256.Sum256(b)
			dst := filepath.Join(newTree, rel, "by-hash/SHA256", hex.EncodeToString(sum[:]))
			if _, err := os.Stat(dst); err == nil {
				continue
			}
			if os.MkdirAll(filepath.Dir(dst), 0o755) == nil {
				os.WriteFile(dst, b, 0o644)
			}
		}
	}
}

func linkOrCopy(src, dst string) error {
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}

// writeFile writes a file of the tree, making its directory.
func writeFile(dir, rel string, data []byte) error {
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, data, 0o644)
}

// debPkg and rpmPkg are packages as the indexes describe them.
type debPkg struct {
	control  string
	fields   map[string]string
	filename string // relative to apt/
	size     int
	md5, sha string
}

// Write writes the repository tree into the (empty) directory dir.
func (r Repository) Write(dir string) (*RepoResult, error) {
	now := r.Now.UTC().Truncate(time.Second)
	if r.ValidFor <= 0 {
		r.ValidFor = config.DefaultRepoValidFor
	}
	res := &RepoResult{Fingerprint: r.Key.Fingerprint(), Date: now, ValidUntil: now.Add(r.ValidFor)}
	var debs []debPkg
	var rpms []*rpmPkg
	seen := map[string]bool{}
	for _, p := range r.Packages {
		base := filepath.Base(p)
		if seen[base] {
			return nil, fmt.Errorf("%s: two packages with this name", base)
		}
		seen[base] = true
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		switch {
		case strings.HasSuffix(base, ".deb"):
			control, fields, err := debControl(b)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p, err)
			}
			name := fields["Package"]
			prefix := name[:1]
			if strings.HasPrefix(name, "lib") && len(name) > 3 {
				prefix = name[:4]
			}
			rel := "pool/" + RepoComponent + "/" + prefix + "/" + name + "/" + base
			if err := writeFile(dir, "apt/"+rel, b); err != nil {
				return nil, err
			}
			m, s := md5.Sum(b), sha256.Sum256(b)
			debs = append(debs, debPkg{control, fields, rel, len(b), hex.EncodeToString(m[:]), hex.EncodeToString(s[:])})
		case strings.HasSuffix(base, ".rpm"):
			signed, err := signRPM(b, r.Key, now)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p, err)
			}
			pkg, err := readRPMPkg(signed, "packages/"+base, now)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p, err)
			}
			if err := writeFile(dir, "yum/packages/"+base, signed); err != nil {
				return nil, err
			}
			rpms = append(rpms, pkg)
		default:
			return nil, fmt.Errorf("%s: neither .deb nor .rpm", p)
		}
		res.Packages = append(res.Packages, base)
	}
	if err := r.writeApt(dir, debs, now); err != nil {
		return nil, err
	}
	if err := r.writeYum(dir, rpms, now); err != nil {
		return nil, err
	}
	if err := writeFile(dir, RepoKeyName+".asc", r.Key.PublicArmored()); err != nil {
		return nil, err
	}
	if err := writeFile(dir, RepoKeyName+".gpg", r.Key.PublicKeyring()); err != nil {
		return nil, err
	}
	return res, nil
}

// AptSources is the deb822 sources entry for a relay at webURL, with the
// key installed as /usr/share/keyrings/tmate-relay.gpg.
func AptSources(webURL string) string {
	return "Types: deb\n" +
		"URIs: " + webURL + "/apt\n" +
		"Suites: " + RepoSuite + "\n" +
		"Components: " + RepoComponent + "\n" +
		"Signed-By: /usr/share/keyrings/" + RepoKeyName + ".gpg\n"
}

// YumRepoFile is the .repo file for a relay at webURL.
func YumRepoFile(webURL string) string {
	return "[" + RepoKeyName + "]\n" +
		"name=tmate-relay packages from " + webURL + "\n" +
		"baseurl=" + webURL + "/yum/\n" +
		"enabled=1\n" +
		"gpgcheck=1\n" +
		"repo_gpgcheck=1\n" +
		"gpgkey=" + webURL + "/" + RepoKeyName + ".asc\n" +
		"metadata_expire=1h\n"
}

func (r Repository) writeApt(dir string, debs []debPkg, now time.Time) error {
	sort.Slice(debs, func(i, j int) bool {
		if debs[i].fields["Package"] != debs[j].fields["Package"] {
			return debs[i].fields["Package"] < debs[j].fields["Package"]
		}
		return debs[i].filename < debs[j].filename
	})
	arches := append([]string{}, RepoArches...)
	for _, d := range debs {
		if a := d.fields["Architecture"]; a != "all" && !contains(arches, a) {
			arches = append(arches, a)
		}
	}
	sort.Strings(arches)
	type index struct {
		path string
		data []byte
	}
	var indexes []index
	for _, arch := range append(append([]string{}, arches...), "all") {
		var b bytes.Buffer
		for _, d := range debs {
			if a := d.fields["Architecture"]; a != arch && a != "all" {
				continue
			}
			fmt.Fprintf(&b, "%s\nFilename: %s\nSize: %d\nMD5sum: %s\nSHA256: %s\n\n", d.control, d.filename, d.size, d.md5, d.sha)
		}
		base := RepoComponent + "/binary-" + arch + "/"
		indexes = append(indexes, index{base + "Packages", b.Bytes()}, index{base + "Packages.gz", gz(b.Bytes())})
	}
	suite := "apt/dists/" + RepoSuite + "/"
	var sums strings.Builder
	for _, ix := range indexes {
		sum := sha256.Sum256(ix.data)
		h := hex.EncodeToString(sum[:])
		fmt.Fprintf(&sums, " %s %8d %s\n", h, len(ix.data), ix.path)
		if err := writeFile(dir, suite+ix.path, ix.data); err != nil {
			return err
		}
		if err := writeFile(dir, suite+filepath.ToSlash(filepath.Join(filepath.Dir(ix.path), "by-hash/SHA256", h)), ix.data); err != nil {
			return err
		}
	}
	release := "Origin: tmate-relay\n" +
		"Label: tmate-relay\n" +
		"Suite: " + RepoSuite + "\n" +
		"Codename: " + RepoSuite + "\n" +
		"Date: " + now.Format(releaseTime) + "\n" +
		"Valid-Until: " + now.Add(r.ValidFor).Format(releaseTime) + "\n" +
		"Architectures: " + strings.Join(arches, " ") + " all\n" +
		"No-Support-for-Architecture-all: Packages\n" +
		"Components: " + RepoComponent + "\n" +
		"Description: Packages of the tmate relay at " + r.WebURL + "\n" +
		"Acquire-By-Hash: yes\n" +
		"SHA256:\n" + sums.String()
	inRelease, err := r.Key.ClearSign([]byte(release), now)
	if err != nil {
		return err
	}
	sig, err := r.Key.ArmoredDetachSign([]byte(release), now)
	if err != nil {
		return err
	}
	for name, data := range map[string][]byte{"Release": []byte(release), "InRelease": inRelease, "Release.gpg": sig} {
		if err := writeFile(dir, suite+name, data); err != nil {
			return err
		}
	}
	return writeFile(dir, "apt/"+RepoKeyName+".sources", []byte(AptSources(r.WebURL)))
}

// releaseTime is the Date format of Debian Release files (RFC 2822, UTC).
const releaseTime = "Mon, 02 Jan 2006 15:04:05 UTC"

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// rpmPkg is an rpm as primary, filelists and other describe it.
type rpmPkg struct {
	pkgid                                    string
	name, arch, epoch, version, release      string
	summary, description, packager, url      string
	license, vendor, group, buildhost, srpm  string
	buildTime, fileTime                      int64
	size, installed, archive                 int64
	location                                 string
	hdrStart, hdrEnd                         int
	provides, requires, conflicts, obsoletes []rpmDep
	files                                    []rpmFileEntry
}

type rpmDep struct {
	name, flags, epoch, ver, rel string
	pre                          bool
}

type rpmFileEntry struct {
	path, typ string // typ "", "dir" or "ghost"
}

func readRPMPkg(b []byte, location string, now time.Time) (*rpmPkg, error) {
	f, err := parseRPM(b)
	if err != nil {
		return nil, err
	}
	h := f.main
	sum := sha256.Sum256(b)
	p := &rpmPkg{
		pkgid: hex.EncodeToString(sum[:]), location: location,
		name: h.str(tagName), arch: h.str(tagArch), version: h.str(tagVersion), release: h.str(tagRelease),
		summary: h.str(tagSummary), description: h.str(tagDescription), packager: h.str(tagPackager),
		url: h.str(tagURL), license: h.str(tagLicense), vendor: h.str(tagVendor), group: h.str(tagGroup),
		buildhost: h.str(tagBuildHost), srpm: h.str(tagSourceRPM),
		fileTime: now.Unix(), size: int64(len(b)),
	}
	if p.name == "" || p.version == "" || p.arch == "" {
		return nil, errors.New("rpm header lacks name, version or arch")
	}
	p.epoch = "0"
	if e, ok := h.int(tagEpoch); ok {
		p.epoch = strconv.FormatInt(e, 10)
	}
	p.buildTime, _ = h.int(tagBuildTime)
	if v, ok := h.int(tagLongSize); ok {
		p.installed = v
	} else {
		p.installed, _ = h.int(tagSize)
	}
	p.archive, _ = f.sig.int(1007) // RPMSIGTAG_PAYLOADSIZE
	p.hdrStart, p.hdrEnd = f.headerRange()
	p.provides = rpmDeps(h, tagProvideName, tagProvideFlags, tagProvideVersion)
	p.requires = rpmDeps(h, tagRequireName, tagRequireFlags, tagRequireVersion)
	p.conflicts = rpmDeps(h, tagConflictName, tagConflictFlags, tagConflictVer)
	p.obsoletes = rpmDeps(h, tagObsoleteName, tagObsoleteFlags, tagObsoleteVer)
	base, dirs, idx := h.strings(tagBaseNames), h.strings(tagDirNames), h.ints(tagDirIndexes)
	modes, fflags := h.ints(tagFileModes), h.ints(tagFileFlags)
	for i, bn := range base {
		if i >= len(idx) || int(idx[i]) >= len(dirs) {
			break
		}
		fe := rpmFileEntry{path: dirs[idx[i]] + bn}
		switch {
		case i < len(fflags) && fflags[i]&64 != 0: // RPMFILE_GHOST
			fe.typ = "ghost"
		case i < len(modes) && modes[i]&0o170000 == 0o040000:
			fe.typ = "dir"
		}
		p.files = append(p.files, fe)
	}
	return p, nil
}

func rpmDeps(h *rpmHeader, nameTag, flagTag, verTag int) []rpmDep {
	names, flags, vers := h.strings(nameTag), h.ints(flagTag), h.strings(verTag)
	var out []rpmDep
	seen := map[string]bool{}
	for i, n := range names {
		var fl int64
		if i < len(flags) {
			fl = flags[i]
		}
		if fl&(1<<24) != 0 || strings.HasPrefix(n, "rpmlib(") { // RPMSENSE_RPMLIB
			continue
		}
		d := rpmDep{name: n, pre: fl&(1<<6|1<<9|1<<10) != 0} // PREREQ, SCRIPT_PRE, SCRIPT_POST
		d.flags = map[int64]string{2: "LT", 4: "GT", 8: "EQ", 10: "LE", 12: "GE"}[fl&14]
		if d.flags != "" && i < len(vers) && vers[i] != "" {
			v := vers[i]
			d.epoch = "0"
			if e, rest, ok := strings.Cut(v, ":"); ok {
				d.epoch, v = e, rest
			}
			if j := strings.LastIndex(v, "-"); j >= 0 {
				d.ver, d.rel = v[:j], v[j+1:]
			} else {
				d.ver = v
			}
		}
		key := fmt.Sprint(d)
		if !seen[key] {
			seen[key] = true
			out = append(out, d)
		}
	}
	return out
}

func esc(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

func (d rpmDep) xml() string {
	s := `<rpm:entry name="` + esc(d.name) + `"`
	if d.flags != "" {
		s += ` flags="` + d.flags + `" epoch="` + esc(d.epoch) + `" ver="` + esc(d.ver) + `"`
		if d.rel != "" {
			s += ` rel="` + esc(d.rel) + `"`
		}
	}
	if d.pre {
		s += ` pre="1"`
	}
	return s + "/>"
}

// primaryFile is createrepo's rule for the files listed in primary.xml.
func primaryFile(p string) bool {
	return strings.HasPrefix(p, "/etc/") || strings.Contains(p, "bin/") || p == "/usr/lib/sendmail"
}

func (r Repository) writeYum(dir string, rpms []*rpmPkg, now time.Time) error {
	sort.Slice(rpms, func(i, j int) bool { return rpms[i].location < rpms[j].location })
	n := strconv.Itoa(len(rpms))
	var pri, fil, oth bytes.Buffer
	pri.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="` + n + `">` + "\n")
	fil.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<filelists xmlns="http://linux.duke.edu/metadata/filelists" packages="` + n + `">` + "\n")
	oth.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<otherdata xmlns="http://linux.duke.edu/metadata/other" packages="` + n + `">` + "\n")
	for _, p := range rpms {
		ver := `<version epoch="` + esc(p.epoch) + `" ver="` + esc(p.version) + `" rel="` + esc(p.release) + `"/>`
		fmt.Fprintf(&pri, `<package type="rpm">
  <name>%s</name>
  <arch>%s</arch>
  %s
  <checksum type="sha256" pkgid="YES">%s</checksum>
  <summary>%s</summary>
  <description>%s</description>
  <packager>%s</packager>
  <url>%s</url>
  <time file="%d" build="%d"/>
  <size package="%d" installed="%d" archive="%d"/>
  <location href="%s"/>
  <format>
    <rpm:license>%s</rpm:license>
    <rpm:vendor>%s</rpm:vendor>
    <rpm:group>%s</rpm:group>
    <rpm:buildhost>%s</rpm:buildhost>
    <rpm:sourcerpm>%s</rpm:sourcerpm>
    <rpm:header-range start="%d" end="%d"/>
`, esc(p.name), esc(p.arch), ver, p.pkgid, esc(p.summary), esc(p.description), esc(p.packager), esc(p.url),
			p.fileTime, p.buildTime, p.size, p.installed, p.archive, esc(p.location),
			esc(p.license), esc(p.vendor), esc(p.group), esc(p.buildhost), esc(p.srpm), p.hdrStart, p.hdrEnd)
		for _, set := range []struct {
			tag  string
			deps []rpmDep
		}{{"provides", p.provides}, {"requires", p.requires}, {"conflicts", p.conflicts}, {"obsoletes", p.obsoletes}} {
			if len(set.deps) == 0 {
				continue
			}
			pri.WriteString("    <rpm:" + set.tag + ">\n")
			for _, d := range set.deps {
				pri.WriteString("      " + d.xml() + "\n")
			}
			pri.WriteString("    </rpm:" + set.tag + ">\n")
		}
		head := `<package pkgid="` + p.pkgid + `" name="` + esc(p.name) + `" arch="` + esc(p.arch) + `">` + "\n  " + ver + "\n"
		fil.WriteString(head)
		for _, f := range p.files {
			t := ""
			if f.typ != "" {
				t = ` type="` + f.typ + `"`
			}
			line := "<file" + t + ">" + esc(f.path) + "</file>\n"
			fil.WriteString("  " + line)
			if primaryFile(f.path) {
				pri.WriteString("    " + line)
			}
		}
		fil.WriteString("</package>\n")
		pri.WriteString("  </format>\n</package>\n")
		oth.WriteString(head + "</package>\n")
	}
	pri.WriteString("</metadata>\n")
	fil.WriteString("</filelists>\n")
	oth.WriteString("</otherdata>\n")

	var repomd bytes.Buffer
	repomd.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<repomd xmlns="http://linux.duke.edu/metadata/repo" xmlns:rpm="http://linux.duke.edu/metadata/rpm">` + "\n" +
		"  <revision>" + strconv.FormatInt(now.Unix(), 10) + "</revision>\n")
	for _, md := range []struct {
		typ  string
		data []byte
	}{{"primary", pri.Bytes()}, {"filelists", fil.Bytes()}, {"other", oth.Bytes()}} {
		z := gz(md.data)
		zs, us := sha256.Sum256(z), sha256.Sum256(md.data)
		zh := hex.EncodeToString(zs[:])
		href := "repodata/" + zh + "-" + md.typ + ".xml.gz"
		if err := writeFile(dir, "yum/"+href, z); err != nil {
			return err
		}
		fmt.Fprintf(&repomd, `  <data type="%s">
    <checksum type="sha256">%s</checksum>
    <open-checksum type="sha256">%s</open-checksum>
    <location href="%s"/>
    <timestamp>%d</timestamp>
    <size>%d</size>
    <open-size>%d</open-size>
  </data>
`, md.typ, zh, hex.EncodeToString(us[:]), href, now.Unix(), len(z), len(md.data))
	}
	repomd.WriteString("</repomd>\n")
	sig, err := r.Key.ArmoredDetachSign(repomd.Bytes(), now)
	if err != nil {
		return err
	}
	if err := writeFile(dir, "yum/repodata/repomd.xml", repomd.Bytes()); err != nil {
		return err
	}
	if err := writeFile(dir, "yum/repodata/repomd.xml.asc", sig); err != nil {
		return err
	}
	return writeFile(dir, "yum/"+RepoKeyName+".repo", []byte(YumRepoFile(r.WebURL)))
}

// ReleaseTimes reads the Date and Valid-Until fields of an apt Release.
func ReleaseTimes(release []byte) (date, validUntil time.Time, err error) {
	fields := map[string]*time.Time{"Date": &date, "Valid-Until": &validUntil}
	for _, line := range strings.Split(string(release), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if p := fields[k]; ok && p != nil {
			if *p, err = time.Parse(releaseTime, strings.TrimSpace(v)); err != nil {
				return date, validUntil, fmt.Errorf("Release %s: %w", k, err)
			}
		}
	}
	if date.IsZero() || validUntil.IsZero() {
		return date, validUntil, errors.New("Release lacks Date or Valid-Until")
	}
	return date, validUntil, nil
}

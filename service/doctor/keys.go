package doctor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/crypto/ssh"

	"tmate-relay/packaging"
	"tmate-relay/service/hostkey"
)

// keyNames are the short names of host key types in the report.
var keyNames = map[string]string{ssh.KeyAlgoED25519: "ed25519", ssh.KeyAlgoRSA: "rsa"}

// fingerprints reads the host keys' fingerprints from their files: the
// private keys when readable (then each .pub must match), else the .pub
// files alone.
func (d *doctor) fingerprints() (map[string]string, string, error) {
	dir := d.cfg.SSH.HostKeysDir
	signers, err := hostkey.Load(dir)
	if err != nil && !errors.Is(err, fs.ErrPermission) {
		return nil, "", err
	}
	fps := map[string]string{}
	note := ""
	for i, f := range hostkey.Files {
		path := filepath.Join(dir, f.Name+".pub")
		b, perr := os.ReadFile(path)
		var pub ssh.PublicKey
		if perr == nil {
			pub, _, _, _, perr = ssh.ParseAuthorizedKey(b)
		}
		if signers == nil { // private keys unreadable to this user
			if perr != nil {
				return nil, "", fmt.Errorf("%w, and %s: %v", err, path, perr)
			}
			fps[f.Type] = ssh.FingerprintSHA256(pub)
			note = " (from the .pub files: run as root to read the private keys)"
			continue
		}
		fp := ssh.FingerprintSHA256(signers[i].PublicKey())
		if perr == nil && ssh.FingerprintSHA256(pub) != fp {
			return nil, "", fmt.Errorf("%s does not match its private key: recreate it with ssh-keygen -y -f %s > %s", path, filepath.Join(dir, f.Name), path)
		}
		fps[f.Type] = fp
	}
	return fps, note, nil
}

// describe lists fingerprints in the order of hostkey.Files.
func describe(fps map[string]string) string {
	var s []string
	for _, f := range hostkey.Files {
		if fp, ok := fps[f.Type]; ok {
			s = append(s, keyNames[f.Type]+" "+fp)
		}
	}
	return strings.Join(s, ", ")
}

func (d *doctor) checkHostKeys(ctx context.Context) Result {
	fps, note, err := d.fingerprints()
	if errors.Is(err, fs.ErrPermission) {
		return fail(CheckHostKeys, "%v: run doctor as root", err)
	}
	if err != nil {
		return fail(CheckHostKeys, "%v", err)
	}
	d.fileKeys = fps
	if len(d.presented) == 0 {
		return warn(CheckHostKeys, "%s%s; not compared with the relay's: it does not answer on SSH", describe(fps), note)
	}
	for _, f := range hostkey.Files {
		if got := ssh.FingerprintSHA256(d.presented[f.Type]); got != fps[f.Type] {
			return fail(CheckHostKeys, "the relay presents %s %s, but %s holds %s: it started before the key changed; restart it (systemctl restart tmate-relay) so that it presents the key hosts are told", keyNames[f.Type], got, d.cfg.SSH.HostKeysDir, fps[f.Type])
		}
	}
	return ok(CheckHostKeys, "%s%s: the files and the running relay agree", describe(fps), note)
}

// tmateConf is what a tmate.conf tells hosts.
type tmateConf struct {
	host string
	port int
	fps  map[string]string // by key type
}

var fingerprintTypes = map[string]string{
	"tmate-server-ed25519-fingerprint": ssh.KeyAlgoED25519,
	"tmate-server-rsa-fingerprint":     ssh.KeyAlgoRSA,
}

func parseTmateConf(text string) tmateConf {
	c := tmateConf{fps: map[string]string{}}
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) != 4 || f[0] != "set" || f[1] != "-g" {
			continue
		}
		switch opt, v := f[2], f[3]; {
		case opt == "tmate-server-host":
			c.host = v
		case opt == "tmate-server-port":
			c.port, _ = strconv.Atoi(v)
		case fingerprintTypes[opt] != "":
			c.fps[fingerprintTypes[opt]] = v
		}
	}
	return c
}

// compareConf checks the tmate.conf from source against the host key files
// and relay.toml; restart says how its writer is brought up to date.
func (d *doctor) compareConf(check, source, text, restart string) Result {
	c := parseTmateConf(text)
	for _, f := range hostkey.Files {
		if got, want := c.fps[f.Type], d.fileKeys[f.Type]; got != want {
			if got == "" {
				got = "no fingerprint"
			}
			return fail(check, "%s pins %s %s, but %s holds %s: hosts that use it refuse the relay; %s", source, keyNames[f.Type], got, d.cfg.SSH.HostKeysDir, want, restart)
		}
	}
	if host, port := d.cfg.AdvertiseHost(), d.cfg.SSH.AdvertisePort; c.host != host || c.port != port {
		return warn(check, "%s names %s:%d, relay.toml %s:%d: the relay runs with an older relay.toml; %s", source, c.host, c.port, host, port, restart)
	}
	return ok(check, "%s names %s:%d and pins the host keys", source, c.host, c.port)
}

func (d *doctor) checkTmateConf(ctx context.Context) Result {
	if d.webBase == "" || d.fileKeys == nil {
		return warn(CheckTmateConf, "not checked: %s", d.missing())
	}
	b, err := d.get(ctx, d.webBase+"/tmate.conf")
	if err != nil {
		return fail(CheckTmateConf, "%v: the relay cannot read its host keys; see its log", err)
	}
	return d.compareConf(CheckTmateConf, d.webBase+"/tmate.conf", string(b), "restart the relay (systemctl restart tmate-relay)")
}

// missing says why a check that needs the web side and the keys did not run.
func (d *doctor) missing() string {
	if d.webBase == "" {
		return "the web side does not answer"
	}
	return "the host keys cannot be read"
}

func (d *doctor) checkClientPackage(ctx context.Context) Result {
	if !d.cfg.Repo.Enabled {
		return ok(CheckClientPackage, "not published ([repo] enabled = false): hosts get %s from `tmate-relay packages`; build it again after a key change", packaging.ClientName)
	}
	if d.webBase == "" || d.fileKeys == nil {
		return warn(CheckClientPackage, "not checked: %s", d.missing())
	}
	const restart = "restart the relay (systemctl restart tmate-relay): it publishes a new package at start"
	index := d.webBase + "/apt/dists/" + packaging.RepoSuite + "/" + packaging.RepoComponent + "/binary-all/Packages"
	b, err := d.get(ctx, index)
	if err != nil {
		return fail(CheckClientPackage, "%v: %s", err, restart)
	}
	version, file := newestPackage(string(b), packaging.ClientName)
	if file == "" {
		return fail(CheckClientPackage, "%s lists no %s: %s", index, packaging.ClientName, restart)
	}
	url := d.webBase + "/apt/" + file
	deb, err := d.get(ctx, url)
	if err != nil {
		return fail(CheckClientPackage, "%v: %s", err, restart)
	}
	conf, err := packaging.DebFile(deb, "/etc/tmate.conf")
	if err != nil {
		return fail(CheckClientPackage, "%s: %v", url, err)
	}
	return d.compareConf(CheckClientPackage, packaging.ClientName+" "+version, string(conf), restart)
}

// newestPackage returns the highest version of package name in an apt
// Packages index, and its file.
func newestPackage(index, name string) (version, file string) {
	type entry struct{ version, file string }
	var found []entry
	for _, para := range strings.Split(index, "\n\n") {
		fields := map[string]string{}
		for _, line := range strings.Split(para, "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && !strings.HasPrefix(line, " ") {
				fields[k] = strings.TrimSpace(v)
			}
		}
		if fields["Package"] == name && fields["Filename"] != "" {
			found = append(found, entry{fields["Version"], fields["Filename"]})
		}
	}
	if len(found) == 0 {
		return "", ""
	}
	// The client's versions are 1.YYYYMMDD.HHMMSS.HASH: fixed widths,
	// so they sort as text.
	sort.Slice(found, func(i, j int) bool { return found[i].version < found[j].version })
	e := found[len(found)-1]
	return e.version, e.file
}

package packaging

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"tmate-relay/service/config"
	"tmate-relay/service/hostkey"
)

var (
	keyOnce sync.Once
	keyPEM  []byte
)

// repoConfig is a relay with its own state directory, holding host keys and
// a signing key (one RSA 4096 key per test run: making one takes seconds).
func repoConfig(t *testing.T) *config.Config {
	t.Helper()
	state := t.TempDir()
	cfg, err := config.Parse(filepath.Join(state, "relay.toml"),
		"[ssh]\nadvertise_host = \"relay.example.org\"\nhost_keys_dir = \"keys\"\n[web]\npublic_url = \"https://relay.example.org\"\n")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hostkey.Generate(cfg.SSH.HostKeysDir); err != nil {
		t.Fatal(err)
	}
	keyOnce.Do(func() {
		p := filepath.Join(workDir, "signing-key")
		if _, _, err := LoadOrCreateSigningKey(p); err == nil {
			keyPEM, _ = os.ReadFile(p)
		}
	})
	if keyPEM == nil {
		t.Fatal("no signing key")
	}
	if err := os.WriteFile(SigningKeyPath(cfg), keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// The signing key is made once and never replaced, also when two make it
// at once; its public forms are what gpg reads.
func TestSigningKeyNeverOverwritten(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, SigningKeyFile)
	var wg sync.WaitGroup
	fps := make([]string, 3)
	created := make([]bool, 3)
	for i := range fps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, c, err := LoadOrCreateSigningKey(path)
			if err != nil {
				t.Error(err)
				return
			}
			fps[i], created[i] = k.Fingerprint(), c
		}()
	}
	wg.Wait()
	if fps[0] != fps[1] || fps[1] != fps[2] {
		t.Errorf("concurrent creators disagree: %v", fps)
	}
	n := 0
	for _, c := range created {
		if c {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d creators report creating the key", n)
	}
	before, _ := os.ReadFile(path)
	k, c, err := LoadOrCreateSigningKey(path)
	if err != nil || c || k.Fingerprint() != fps[0] {
		t.Fatalf("reload: %v created=%v", err, c)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Error("the key file changed")
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("key mode %v", fi.Mode().Perm())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("left behind: %v", entries)
	}
	if !bytes.HasPrefix(k.PublicArmored(), []byte("-----BEGIN PGP PUBLIC KEY BLOCK-----")) || bytes.Contains(k.PublicKeyring(), []byte("PRIVATE")) {
		t.Error("public key exports")
	}
	os.WriteFile(path, []byte("garbage"), 0o600)
	if _, _, err := LoadOrCreateSigningKey(path); err == nil {
		t.Error("a broken key file was accepted (or replaced)")
	}
	if b, _ := os.ReadFile(path); string(b) != "garbage" {
		t.Error("a broken key file was replaced")
	}
	// A v4 RSA 4096 key that signs, with no subkeys.
	pk := k.entity.PrimaryKey
	if bits, _ := pk.BitLength(); pk.Version != 4 || bits != SigningKeyBits || len(k.entity.Subkeys) != 0 {
		t.Errorf("key: v%d, %d bits, %d subkeys", pk.Version, bits, len(k.entity.Subkeys))
	}
}

// Rebuilding an unchanged relay keeps the client version (hosts do not
// upgrade for nothing) and re-signs; the previous indexes stay reachable by
// hash; a new host key makes a new version, the old one stays listed.
func TestRepositoryRebuild(t *testing.T) {
	need(t, "gpgv")
	cfg := repoConfig(t)
	out := filepath.Join(t.TempDir(), "repo")
	first, err := BuildRepository(cfg, out)
	if err != nil {
		t.Fatal(err)
	}
	if first.KeyCreated || len(first.Packages) != 2 {
		t.Fatalf("first build: %+v", first)
	}
	pkgs1, _ := os.ReadFile(filepath.Join(out, "apt/dists/stable/main/binary-all/Packages"))
	time.Sleep(1100 * time.Millisecond)
	second, err := BuildRepository(cfg, out)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(second.Packages) != fmt.Sprint(first.Packages) || !second.Date.After(first.Date) {
		t.Errorf("unchanged rebuild: %v at %v, was %v at %v", second.Packages, second.Date, first.Packages, first.Date)
	}
	// A new host key: a new client version beside the old one.
	os.Remove(filepath.Join(cfg.SSH.HostKeysDir, "ssh_host_ed25519_key"))
	os.Remove(filepath.Join(cfg.SSH.HostKeysDir, "ssh_host_ed25519_key.pub"))
	hostkey.Generate(cfg.SSH.HostKeysDir)
	third, err := BuildRepository(cfg, out)
	if err != nil {
		t.Fatal(err)
	}
	if len(third.Packages) != 4 {
		t.Errorf("after a key change: %v", third.Packages)
	}
	pkgs3, _ := os.ReadFile(filepath.Join(out, "apt/dists/stable/main/binary-all/Packages"))
	if bytes.Count(pkgs3, []byte("Package: elephant-shed-tmate\n")) != 2 {
		t.Errorf("Packages:\n%s", pkgs3)
	}
	// The indexes of the build before are still there by hash.
	byHash, _ := filepath.Glob(filepath.Join(out, "apt/dists/stable/main/binary-all/by-hash/SHA256/*"))
	found := false
	for _, p := range byHash {
		if b, _ := os.ReadFile(p); bytes.Equal(b, pkgs1) {
			found = true
		}
	}
	if !found || len(byHash) != 4 {
		t.Errorf("by-hash after rebuilds: %d files, previous Packages kept: %v", len(byHash), found)
	}
	// Nothing left beside the tree.
	if m, _ := filepath.Glob(filepath.Join(filepath.Dir(out), ".*")); len(m) != 0 {
		t.Errorf("left beside the repository: %v", m)
	}
	rel, _ := os.ReadFile(filepath.Join(out, "apt/dists/stable/Release"))
	for _, want := range []string{"Suite: stable\n", "Acquire-By-Hash: yes\n", "Valid-Until: " + third.ValidUntil.Format(releaseTime) + "\n",
		"main/binary-amd64/Packages\n", "main/binary-arm64/Packages.gz\n"} {
		if !strings.Contains(string(rel), want) {
			t.Errorf("Release lacks %q:\n%s", want, rel)
		}
	}
	if third.ValidUntil.Sub(third.Date) != config.DefaultRepoValidFor {
		t.Errorf("valid %v", third.ValidUntil.Sub(third.Date))
	}
	keyring := filepath.Join(out, RepoKeyName+".gpg")
	for _, args := range [][]string{{"apt/dists/stable/InRelease"}, {"apt/dists/stable/Release.gpg", "apt/dists/stable/Release"},
		{"yum/repodata/repomd.xml.asc", "yum/repodata/repomd.xml"}} {
		cmd := exec.Command("gpgv", append([]string{"--keyring", keyring}, args...)...)
		cmd.Dir = out
		if o, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("gpgv %v: %v\n%s", args, err, o)
		}
	}
}

// Signing an rpm again replaces its signatures and changes nothing else.
func TestSignRPMTwice(t *testing.T) {
	need(t, "rpm")
	cfg := repoConfig(t)
	key, _, err := LoadOrCreateSigningKey(SigningKeyPath(cfg))
	if err != nil {
		t.Fatal(err)
	}
	pkgs, err := BuildClientPackages(cfg, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(pkgs[1])
	once, err := signRPM(b, key, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	twice, err := signRPM(once, key, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(once) != len(twice) {
		t.Errorf("signed twice: %d bytes, once %d", len(twice), len(once))
	}
	f0, _ := parseRPM(b)
	f2, _ := parseRPM(twice)
	if !bytes.Equal(f0.main.raw, f2.main.raw) || !bytes.Equal(f0.payload, f2.payload) {
		t.Error("header or payload changed")
	}
	db := t.TempDir()
	p := filepath.Join(t.TempDir(), "signed.rpm")
	os.WriteFile(p, twice, 0o644)
	os.WriteFile(filepath.Join(db, "key.asc"), key.PublicArmored(), 0o644)
	if out, err := exec.Command("rpm", "--dbpath", db, "--import", filepath.Join(db, "key.asc")).CombinedOutput(); err != nil {
		t.Fatalf("rpm --import: %v\n%s", err, out)
	}
	out, err := exec.Command("rpm", "--dbpath", db, "-Kv", p).CombinedOutput()
	if err != nil || strings.Count(string(out), ": OK") != 4 {
		t.Errorf("rpm -Kv: %v\n%s", err, out)
	}
}

// A signing key others may read is refused, naming the file and the fix,
// and left as it is.
func TestSigningKeyRefusedWhenReadable(t *testing.T) {
	cfg := repoConfig(t)
	p := SigningKeyPath(cfg)
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := LoadOrCreateSigningKey(p)
	if err == nil || !strings.Contains(err.Error(), "too open") || !strings.Contains(err.Error(), "chmod 600 "+p) {
		t.Fatalf("mode 0644: %v, want a refusal with chmod 600 %s", err, p)
	}
	if b, _ := os.ReadFile(p); !bytes.Equal(b, keyPEM) {
		t.Error("the key file was changed")
	}
}

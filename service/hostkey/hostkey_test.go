package hostkey

import (
	"bytes"
	"crypto/rsa"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"
)

// needTool returns the path of a tool, skipping the test without it
// (failing instead in CI, where every tool must be installed).
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required in CI: %v", name, err)
		}
		t.Skipf("%s not installed: %v", name, err)
	}
	return p
}

func TestGenerate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "keys")
	created, err := Generate(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		filepath.Join(dir, "ssh_host_ed25519_key"),
		filepath.Join(dir, "ssh_host_ed25519_key.pub"),
		filepath.Join(dir, "ssh_host_rsa_key"),
		filepath.Join(dir, "ssh_host_rsa_key.pub"),
	}
	if strings.Join(created, "\n") != strings.Join(want, "\n") {
		t.Errorf("created %q, want %q", created, want)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("dir: %v, %v; want mode 0700", fi.Mode(), err)
	}
	for _, p := range want {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		perm := os.FileMode(0o600)
		if strings.HasSuffix(p, ".pub") {
			perm = 0o644
		}
		if fi.Mode().Perm() != perm {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode().Perm(), perm)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 4 {
		t.Errorf("dir holds %d entries, want 4 (temporary files left?)", len(entries))
	}

	signers, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(signers) != 2 || signers[0].PublicKey().Type() != ssh.KeyAlgoED25519 || signers[1].PublicKey().Type() != ssh.KeyAlgoRSA {
		t.Fatalf("Load gave %d signers of the wrong types", len(signers))
	}
	rsaPub := signers[1].PublicKey().(ssh.CryptoPublicKey).CryptoPublicKey().(*rsa.PublicKey)
	if rsaPub.N.BitLen() < 3072 {
		t.Errorf("RSA key has %d bits", rsaPub.N.BitLen())
	}
	// Each .pub holds the public half of its private key.
	for i, f := range Files {
		data, err := os.ReadFile(filepath.Join(dir, f.Name+".pub"))
		if err != nil {
			t.Fatal(err)
		}
		pub, comment, _, _, err := ssh.ParseAuthorizedKey(data)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(pub.Marshal(), signers[i].PublicKey().Marshal()) || comment != Comment {
			t.Errorf("%s.pub does not match its private key (comment %q)", f.Name, comment)
		}
	}

	// A second run creates nothing and changes nothing.
	before := readAll(t, dir)
	created, err = Generate(dir)
	if err != nil || len(created) != 0 {
		t.Fatalf("second Generate: created %q, %v", created, err)
	}
	if after := readAll(t, dir); after != before {
		t.Error("second Generate changed the keys")
	}
}

func readAll(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(e.Name() + "\n" + string(data))
	}
	return b.String()
}

func TestGenerateKeepsExistingDirMode(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	if _, err := Generate(dir); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o750 {
		t.Errorf("existing dir mode changed to %v", fi.Mode().Perm())
	}
}

func TestGenerateRecreatesMissingPub(t *testing.T) {
	dir := t.TempDir()
	if _, err := Generate(dir); err != nil {
		t.Fatal(err)
	}
	pub := filepath.Join(dir, "ssh_host_rsa_key.pub")
	want, _ := os.ReadFile(pub)
	os.Remove(pub)
	created, err := Generate(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(created) != 1 || created[0] != pub {
		t.Errorf("created %q, want only %s", created, pub)
	}
	if got, _ := os.ReadFile(pub); !bytes.Equal(got, want) {
		t.Errorf("recreated .pub differs:\n%s\nwant\n%s", got, want)
	}
}

func TestGenerateRefusesStrayPub(t *testing.T) {
	dir := t.TempDir()
	stray := filepath.Join(dir, "ssh_host_ed25519_key.pub")
	if err := os.WriteFile(stray, []byte("ssh-ed25519 AAAA stray\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Generate(dir)
	if err == nil || !strings.Contains(err.Error(), "exists without its private key") {
		t.Fatalf("got %v", err)
	}
	if data, _ := os.ReadFile(stray); string(data) != "ssh-ed25519 AAAA stray\n" {
		t.Error("stray .pub was overwritten")
	}
	if _, err := os.Stat(filepath.Join(dir, "ssh_host_ed25519_key")); err == nil {
		t.Error("created a private key beside a stray .pub")
	}
}

func TestGenerateNeverOverwrites(t *testing.T) {
	dir := t.TempDir()
	// A private key that is not even a key: Generate must leave it alone
	// (Load reports it).
	p := filepath.Join(dir, "ssh_host_ed25519_key")
	if err := os.WriteFile(p, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p+".pub", []byte("not a key either"), 0o644); err != nil {
		t.Fatal(err)
	}
	created, err := Generate(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(created) != 2 || !strings.HasSuffix(created[0], "ssh_host_rsa_key") {
		t.Errorf("created %q", created)
	}
	if data, _ := os.ReadFile(p); string(data) != "not a key" {
		t.Error("existing key overwritten")
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("Load of a broken key: %v", err)
	}
}

func TestGenerateConcurrent(t *testing.T) {
	dir := t.TempDir()
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		all []string
	)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			created, err := Generate(dir)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			all = append(all, created...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	sort.Strings(all)
	for i := 1; i < len(all); i++ {
		if all[i] == all[i-1] {
			t.Errorf("%s reported created twice", all[i])
		}
	}
	signers, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range Files {
		data, _ := os.ReadFile(filepath.Join(dir, f.Name+".pub"))
		pub, _, _, _, err := ssh.ParseAuthorizedKey(data)
		if err != nil || !bytes.Equal(pub.Marshal(), signers[i].PublicKey().Marshal()) {
			t.Errorf("%s.pub does not match its key after concurrent runs: %v", f.Name, err)
		}
	}
}

func TestLoadMissing(t *testing.T) {
	dir := t.TempDir()
	_, err := Load(dir)
	if err == nil || !strings.Contains(err.Error(), "run `tmate-relay keygen`") ||
		!strings.Contains(err.Error(), filepath.Join(dir, "ssh_host_ed25519_key")) {
		t.Fatalf("got %v", err)
	}
	_, err = Load(filepath.Join(dir, "nope"))
	if err == nil || !strings.Contains(err.Error(), "tmate-relay keygen") {
		t.Fatalf("missing dir: got %v", err)
	}
}

func TestLoadRefusesOpenPermissions(t *testing.T) {
	dir := t.TempDir()
	if _, err := Generate(dir); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "ssh_host_rsa_key")
	for _, mode := range []os.FileMode{0o640, 0o604, 0o620, 0o644} {
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		_, err := Load(dir)
		if err == nil || !strings.Contains(err.Error(), "too open") || !strings.Contains(err.Error(), "chmod 600 "+p) {
			t.Errorf("mode %v: got %v", mode, err)
		}
	}
	for _, mode := range []os.FileMode{0o600, 0o400} {
		os.Chmod(p, mode)
		if _, err := Load(dir); err != nil {
			t.Errorf("mode %v: %v", mode, err)
		}
	}
}

func TestLoadWrongKeyType(t *testing.T) {
	dir := t.TempDir()
	if _, err := Generate(dir); err != nil {
		t.Fatal(err)
	}
	ed := filepath.Join(dir, "ssh_host_ed25519_key")
	data, _ := os.ReadFile(filepath.Join(dir, "ssh_host_rsa_key"))
	os.Remove(ed)
	os.WriteFile(ed, data, 0o600)
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "holds a ssh-rsa key") {
		t.Errorf("got %v", err)
	}
}

// TestFingerprintsMatchSSHKeygen checks the fingerprints against OpenSSH's
// own reading of the files, public and private.
func TestFingerprintsMatchSSHKeygen(t *testing.T) {
	keygen := needTool(t, "ssh-keygen")
	dir := t.TempDir()
	if _, err := Generate(dir); err != nil {
		t.Fatal(err)
	}
	signers, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	fps := Fingerprints(signers)
	if len(fps) != 2 {
		t.Fatalf("got %d fingerprints", len(fps))
	}
	for _, f := range Files {
		for _, file := range []string{f.Name, f.Name + ".pub"} {
			out, err := exec.Command(keygen, "-l", "-f", filepath.Join(dir, file)).CombinedOutput()
			if err != nil {
				t.Fatalf("ssh-keygen -lf %s: %v\n%s", file, err, out)
			}
			// "256 SHA256:... tmate-relay (ED25519)"
			fields := strings.Fields(string(out))
			if len(fields) < 2 || fields[1] != fps[f.Type] {
				t.Errorf("ssh-keygen -lf %s: %q; Fingerprints: %q", file, out, fps[f.Type])
			}
		}
		// OpenSSH reads the private key format and derives the same public key.
		out, err := exec.Command(keygen, "-y", "-f", filepath.Join(dir, f.Name)).Output()
		if err != nil {
			t.Fatalf("ssh-keygen -y: %v", err)
		}
		pub, _ := os.ReadFile(filepath.Join(dir, f.Name+".pub"))
		if !strings.HasPrefix(string(pub), strings.TrimSpace(string(out))) {
			t.Errorf("ssh-keygen -y %s = %q, .pub = %q", f.Name, out, pub)
		}
	}
}

// TestLoadReadsSSHKeygenKeys checks that keys made by OpenSSH itself load.
func TestLoadReadsSSHKeygenKeys(t *testing.T) {
	keygen := needTool(t, "ssh-keygen")
	dir := t.TempDir()
	for _, args := range [][]string{
		{"-t", "ed25519", "-f", filepath.Join(dir, "ssh_host_ed25519_key")},
		{"-t", "rsa", "-b", "3072", "-f", filepath.Join(dir, "ssh_host_rsa_key")},
	} {
		out, err := exec.Command(keygen, append(args, "-q", "-N", "")...).CombinedOutput()
		if err != nil {
			t.Fatalf("ssh-keygen %v: %v\n%s", args, err, out)
		}
	}
	signers, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if created, err := Generate(dir); err != nil || len(created) != 0 {
		t.Errorf("Generate beside ssh-keygen's keys: %q, %v", created, err)
	}
	out, _ := exec.Command(keygen, "-l", "-f", filepath.Join(dir, "ssh_host_ed25519_key.pub")).Output()
	if f := strings.Fields(string(out)); len(f) < 2 || f[1] != Fingerprints(signers)[ssh.KeyAlgoED25519] {
		t.Errorf("fingerprint mismatch: %q vs %q", out, Fingerprints(signers))
	}
}

// A host key behind a symbolic link is refused: whoever can change the
// link's target chooses the relay's identity.
func TestLoadRefusesSymlinkedKey(t *testing.T) {
	dir := t.TempDir()
	if _, err := Generate(dir); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "ssh_host_ed25519_key")
	if err := os.Rename(p, p+".real"); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(p+".real", p); err != nil {
		t.Fatal(err)
	}
	_, err := Load(dir)
	if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "symbolic link") {
		t.Fatalf("got %v, want a refusal naming %s as a symbolic link", err, p)
	}
}

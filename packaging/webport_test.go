package packaging

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"tmate-relay/debian"
	"tmate-relay/rpm"
	"tmate-relay/service/web/browsertest"
)

// The web port before 0.1.1, which browsers refuse, and the one since.
const (
	oldWebPort = "10080"
	webPort    = "10081"
	oldVersion = "0.1.0~test0" // sorts below v1
)

// refusedPortNote is the text postinst and %post print for a relay.toml
// that still names the old web port.
const refusedPortNote = "still names port 10080 in [web]"

// The note of the maintainer scripts, run on relay.toml files: only a [web]
// listen or public_url on port 10080 makes it speak.
func TestRefusedWebPortNote(t *testing.T) {
	scripts := map[string][]byte{
		"debian/tmate-relay.postinst": mustRead(debian.Files, "tmate-relay.postinst"),
		"rpm/tmate-relay.post":        mustRead(rpm.Files, "tmate-relay.post"),
	}
	fnRe := regexp.MustCompile(`(?ms)^note_refused_web_port\(\) \{$.*?^\}$`)
	for name, script := range scripts {
		fn := fnRe.Find(script)
		if fn == nil {
			t.Fatalf("%s has no note_refused_web_port()", name)
		}
		if !strings.Contains(string(script), "\tnote_refused_web_port /etc/tmate-relay/relay.toml\n") &&
			!strings.Contains(string(script), "\nnote_refused_web_port /etc/tmate-relay/relay.toml\n") {
			t.Errorf("%s does not call note_refused_web_port on /etc/tmate-relay/relay.toml", name)
		}
		for _, tc := range []struct {
			name, toml string
			note       bool
		}{
			{"shipped", string(mustReadFile(t, "../etc/tmate-relay/relay.toml")), false},
			{"listen 10080", "[ssh]\nlisten = \"0.0.0.0:10022\"\n[web]\nlisten = \"0.0.0.0:10080\"\npublic_url = \"\"\n", true},
			{"public_url 10080", "[web]\n  public_url = \"http://relay.example.com:10080/\"\n", true},
			{"listen 100800", "[web]\nlisten = \"0.0.0.0:100800\"\n", false},
			{"ssh listen 10080", "[ssh]\nlisten = \"0.0.0.0:10080\"\n[web]\nlisten = \"0.0.0.0:10081\"\n", false},
			{"commented", "[web]\n# listen = \"0.0.0.0:10080\"\nlisten = \"0.0.0.0:10081\"\n", false},
			{"missing file", "", false},
		} {
			conf := filepath.Join(t.TempDir(), "relay.toml")
			if tc.name != "missing file" {
				if err := os.WriteFile(conf, []byte(tc.toml), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			out, err := exec.Command("sh", "-ec", string(fn)+"\nnote_refused_web_port \"$1\"\necho done", "sh", conf).CombinedOutput()
			if err != nil || !strings.HasSuffix(string(out), "done\n") {
				t.Errorf("%s, %s: %v\n%s", name, tc.name, err, out)
			}
			if got := strings.Contains(string(out), refusedPortNote); got != tc.note {
				t.Errorf("%s, %s: note %v, want %v:\n%s", name, tc.name, got, tc.note, out)
			}
		}
	}
}

func mustReadFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// oldRelayToml is the packaged relay.toml as releases before 0.1.1 shipped
// it: the web side on port 10080.
func oldRelayToml(a *artifacts) []byte {
	return []byte(strings.ReplaceAll(string(a.relayToml), ":"+webPort, ":"+oldWebPort))
}

// An rpm upgrade from a package whose relay.toml names port 10080:
// %config(noreplace) replaces an unedited file and keeps an edited one,
// with the new default beside it as relay.toml.rpmnew.
func TestRPMUpgradeWebPort(t *testing.T) {
	need(t, "rpm")
	a := built(t)
	old, err := BuildRelayPackages(Relay{Version: oldVersion, Config: oldRelayToml(a),
		Binaries:   map[string]string{"amd64": filepath.Join(workDir, "tmate-relay-amd64")},
		Maintainer: testMaintainer, Homepage: testHomepage}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var oldRPM string
	for _, p := range old {
		if strings.HasSuffix(p, ".x86_64.rpm") {
			oldRPM = p
		}
	}
	for _, edited := range []bool{false, true} {
		dbroot := t.TempDir()
		if out, err := run(t, "rpm", "--root", dbroot, "-i", "--nodeps", "--noscripts", oldRPM); err != nil {
			t.Fatalf("rpm -i: %v\n%s", err, out)
		}
		conf := filepath.Join(dbroot, "etc/tmate-relay/relay.toml")
		if edited {
			b := strings.Replace(string(mustReadFile(t, conf)), `advertise_host = ""`, `advertise_host = "relay.example.com"`, 1)
			if err := os.WriteFile(conf, []byte(b), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if out, err := run(t, "rpm", "--root", dbroot, "-U", "--nodeps", "--noscripts", a.rpmByArch["x86_64"]); err != nil {
			t.Fatalf("rpm -U: %v\n%s", err, out)
		}
		got := string(mustReadFile(t, conf))
		rpmnew, _ := os.ReadFile(conf + ".rpmnew")
		switch {
		case !edited && (got != string(a.relayToml) || rpmnew != nil):
			t.Errorf("unedited relay.toml not replaced by the new one (.rpmnew: %v):\n%s", rpmnew != nil, got)
		case edited && (!strings.Contains(got, `advertise_host = "relay.example.com"`) || !strings.Contains(got, ":"+oldWebPort+`"`)):
			t.Errorf("edited relay.toml not kept:\n%s", got)
		case edited && string(rpmnew) != string(a.relayToml):
			t.Errorf("relay.toml.rpmnew is not the new default:\n%s", rpmnew)
		}
	}
}

// oldDeb repacks the v1 .deb as the release before 0.1.1 was: relay.toml
// and tmate-relay-http.socket on port 10080, an older version.
func oldDeb(t *testing.T, a *artifacts, dir string) string {
	t.Helper()
	need(t, "dpkg-deb")
	tree := t.TempDir()
	if out, err := run(t, "dpkg-deb", "-R", a.debV1, tree); err != nil {
		t.Fatalf("dpkg-deb -R: %v\n%s", err, out)
	}
	for _, f := range []string{"etc/tmate-relay/relay.toml", "usr/lib/systemd/system/tmate-relay-http.socket"} {
		p := filepath.Join(tree, f)
		b := strings.ReplaceAll(string(mustReadFile(t, p)), webPort, oldWebPort)
		if err := os.WriteFile(p, []byte(b), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	control := filepath.Join(tree, "DEBIAN/control")
	b := strings.Replace(string(mustReadFile(t, control)), "Version: "+v1+"-1\n", "Version: "+oldVersion+"-1\n", 1)
	if !strings.Contains(b, "Version: "+oldVersion+"-1\n") {
		t.Fatalf("no version to replace in the control file:\n%s", b)
	}
	if err := os.WriteFile(control, []byte(b), 0o644); err != nil {
		t.Fatal(err)
	}
	sums := exec.Command("sh", "-c", `find . -type f ! -path './DEBIAN/*' -printf '%P\n' | sort | xargs md5sum > DEBIAN/md5sums`)
	sums.Dir = tree
	if out, err := sums.CombinedOutput(); err != nil {
		t.Fatalf("md5sums: %v\n%s", err, out)
	}
	deb := filepath.Join(dir, "tmate-relay_"+oldVersion+"-1_amd64.deb")
	if out, err := run(t, "dpkg-deb", "--root-owner-group", "-b", tree, deb); err != nil {
		t.Fatalf("dpkg-deb -b: %v\n%s", err, out)
	}
	return deb
}

// The upgrade from the release on port 10080, in a booted Debian 12: an
// unedited relay.toml moves to 10081 without a word; an edited one is kept
// (as dpkg's default answer keeps it) and postinst says what to change.
// Either way tmate-relay-http.socket listens on 10081 only, and the web
// page names port 10081: under socket activation the kept listen = 10080
// is ignored and the web address takes the socket's port.
func TestBootedWebPortUpgrade(t *testing.T) {
	a := built(t)
	root := bookwormRoot(t)
	t.Parallel()
	dist := t.TempDir()
	old := oldDeb(t, a, dist)
	if err := os.WriteFile(filepath.Join(dist, filepath.Base(a.debV1)), mustReadFile(t, a.debV1), 0o644); err != nil {
		t.Fatal(err)
	}
	c := boot(t, root, "webport", dist)
	// dpkg asks about an edited conffile; --force-confold is its default answer.
	upgrade := "apt-get install -y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold /mnt/x/" + filepath.Base(a.debV1) + " 2>&1"
	listening := func(port string) bool {
		out, _ := c.sh(10*time.Second, "ss -Hltn")
		return strings.Contains(out, ":"+port+" ")
	}
	page := func(want string) {
		t.Helper()
		c.waitFor("the web page", "/usr/lib/apt/apt-helper download-file http://127.0.0.1:"+webPort+"/ /tmp/index.html", 30*time.Second)
		if got := c.must("cat /tmp/index.html"); !strings.Contains(got, want) {
			t.Errorf("the web page does not name %s:\n%s", want, got)
		}
	}

	for _, edited := range []bool{false, true} {
		c.must("apt-get install -y -q /mnt/x/" + filepath.Base(old))
		if !listening(oldWebPort) {
			t.Fatalf("the old package does not listen on %s", oldWebPort)
		}
		if edited {
			c.must(`sed -i 's/^advertise_host = .*/advertise_host = "127.0.0.1"/' /etc/tmate-relay/relay.toml`)
		}
		out := c.must(upgrade)
		t.Logf("upgrade (edited %v):\n%s", edited, out)
		conf := c.must("cat /etc/tmate-relay/relay.toml")
		if noted := strings.Contains(out, refusedPortNote); noted != edited {
			t.Errorf("edited %v: postinst note printed: %v", edited, noted)
		}
		if !edited {
			if conf != string(a.relayToml) {
				t.Errorf("the unedited relay.toml was not replaced:\n%s", conf)
			}
			page(":" + webPort + "/tmate.conf")
		} else {
			if !strings.Contains(conf, `listen = "0.0.0.0:`+oldWebPort+`"`) || !strings.Contains(conf, `advertise_host = "127.0.0.1"`) {
				t.Errorf("the edited relay.toml was not kept:\n%s", conf)
			}
			c.check("the new default beside it", "grep -q ':"+webPort+`"' /etc/tmate-relay/relay.toml.dpkg-dist`)
			page("http://127.0.0.1:" + webPort + "/tmate.conf")
			if j := c.must("journalctl -u tmate-relay.service -o cat --no-pager"); strings.Contains(j, "browsers refuse") {
				t.Errorf("the relay warns of a refused port it does not use:\n%s", j)
			}
		}
		if !listening(webPort) || listening(oldWebPort) {
			out, _ := c.sh(10*time.Second, "ss -Hltn")
			t.Errorf("edited %v: after the upgrade the web socket is not on %s only:\n%s", edited, webPort, out)
		}
		c.must("apt-get purge -y -q tmate-relay")
	}
}

// The packaged relay on its default ports, in a booted Debian 12 sharing
// this machine's network, opened in a real headless Chromium on this
// machine: the session page of a real tmate host (in the container) shows
// the host's output, and the index page names the default web port. On
// port 10080 Chromium refuses to load at all (net::ERR_UNSAFE_PORT).
func TestBootedBrowserOnDefaultPort(t *testing.T) {
	need(t, "node", "chromium")
	a := built(t)
	root := bookwormRoot(t)
	b := browsertest.Start(t, "../service/e2e/testdata/browser")
	dist := t.TempDir()
	if err := os.WriteFile(filepath.Join(dist, filepath.Base(a.debV1)), mustReadFile(t, a.debV1), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, port := range []string{"10022", webPort} {
		if out, _ := exec.Command("ss", "-Hltn", "sport = :"+port).Output(); strings.TrimSpace(string(out)) != "" {
			t.Fatalf("port %s is taken on this machine (the container shares its network):\n%s", port, out)
		}
	}
	c := bootWith(t, root, "browser", "--bind-ro="+dist+":/mnt/x")

	c.must("apt-get install -y -q /mnt/x/" + filepath.Base(a.debV1))
	// Another process of this machine may have taken a port since the check.
	if out, err := c.sh(10*time.Second, "systemctl is-active tmate-relay.socket tmate-relay-http.socket"); err != nil {
		j, _ := c.sh(10*time.Second, "journalctl -u tmate-relay.socket -u tmate-relay-http.socket -o cat --no-pager")
		t.Fatalf("the packaged sockets are not listening: %s\n%s", out, j)
	}
	c.must(`sed -i 's/^advertise_host = .*/advertise_host = "127.0.0.1"/' /etc/tmate-relay/relay.toml`)
	c.must("tmate-relay client-config -c /etc/tmate-relay/relay.toml > /tmp/host.conf")
	sock := "/tmp/tmate-browser.sock"
	out, err := c.sh(60*time.Second, "tmate -f /tmp/host.conf -S "+sock+" new-session -d -x 80 -y 24 && timeout 30 tmate -S "+sock+
		" wait tmate-ready && tmate -S "+sock+" display -p '#{tmate_ssh} #{tmate_web}'")
	t.Cleanup(func() { c.sh(10*time.Second, "tmate -S "+sock+" kill-server") })
	if err != nil {
		j, _ := c.sh(10*time.Second, "journalctl -u tmate-relay.service -o cat --no-pager | tail -30; tmate -S "+sock+" show-messages")
		ss, _ := exec.Command("ss", "-Hltnp", "sport = :10022").CombinedOutput()
		t.Fatalf("the tmate host did not reach tmate-ready: %v\n%s\nrelay journal and host messages:\n%s\nlistening on 10022:\n%s", err, out, j, ss)
	}
	m := regexp.MustCompile(`ssh (?:-p\d+ )?(\S+)@`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no ssh command from the host: %q", out)
	}
	c.must("tmate -S " + sock + " send-keys q") // leave the start-up tips
	c.must("tmate -S " + sock + " send-keys 'echo from-the-host-$((6*7))' Enter")

	// The link the host prints, as a user would click it.
	url := "http://127.0.0.1:" + webPort + "/t/" + m[1]
	if !strings.Contains(out, " "+url) {
		t.Fatalf("the host prints no web link %s: %q", url, out)
	}
	if st := b.Open("session", url, 1000, 600); st != 200 {
		t.Fatalf("GET %s in Chromium: status %d", url, st)
	}
	var text string
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		text = b.Screen("session").Text
		if strings.Contains(text, "from-the-host-42") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the session page does not show the host's output:\n%s", text)
		}
	}
	if st := b.Open("index", "http://127.0.0.1:"+webPort+"/", 0, 0); st != 200 {
		t.Fatalf("the index page: status %d", st)
	}
	if body := b.Body("index").Text; !strings.Contains(body, "http://127.0.0.1:"+webPort+"/tmate.conf") {
		t.Errorf("the index page does not name the web port:\n%s", body)
	}
}

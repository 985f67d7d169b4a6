package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tmate-relay/service/recording"
	"tmate-relay/service/web/browsertest"
)

// TestAdminPagesPlayARealRecording: a real tmate session, recorded by the
// relay, is listed on /admin/recordings/ and played in headless Chromium
// by asciinema-player to the host's last screen. The user's hash comes
// from `tmate-relay hash-password`; a request without it gets 401 and an
// audit event.
func TestAdminPagesPlayARealRecording(t *testing.T) {
	needTools(t, "tmate", "tmux", "node", "chromium")
	b := browsertest.Start(t, "testdata/browser")
	cmd := exec.Command(relayBin, "hash-password", "alice")
	cmd.Stdin = strings.NewReader("s3cret pass\n")
	line, err := cmd.Output()
	if err != nil {
		t.Fatalf("hash-password: %v", err)
	}
	dir := filepath.Join(t.TempDir(), "recordings")
	r := startRelay(t, recordingConf(dir, "")+"[admin.users]\n"+string(line))
	base := fmt.Sprintf("http://127.0.0.1:%d", r.webPort)

	resp, err := http.Get(base + "/admin/recordings/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic ") {
		t.Errorf("without a login: %d %q, want 401 with a Basic challenge", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	eventually(t, 10*time.Second, "the refusal in the audit trail", func() (bool, string) {
		return strings.Contains(r.log.String(), "admin page list from 127.0.0.1:"), grepLines(r.log.String(), "admin")
	})

	hs := startHost(t, r, 80, 24, "")
	hs.run("send-keys", "clear; printf '\\033[1;32mrecorded-%s\\033[0m\\n' $((6*7))", "Enter")
	eventually(t, 15*time.Second, "the host shows the output", func() (bool, string) {
		c := hs.capture()
		return strings.Contains(c, "recorded-42"), c
	})
	rec := onlyRecording(t, dir, nil)
	path, _ := recording.Path(dir, rec.ID)
	eventually(t, 15*time.Second, "the recording holds the output", func() (bool, string) {
		b, _ := exec.Command("grep", "-c", "recorded-", path).Output()
		return strings.TrimSpace(string(b)) != "0", string(b)
	})
	last := hs.capture()
	hs.kill()
	onlyRecording(t, dir, func(in recording.Info) bool { return !in.End.IsZero() })

	auth := map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:s3cret pass"))}
	if st := b.OpenWithHeaders("list", base+"/admin/recordings/", 0, 0, auth); st != 200 {
		t.Fatalf("list: status %d", st)
	}
	if body := b.Body("list").Text; !strings.Contains(body, rec.ID) || !strings.Contains(body, "127.0.0.1") {
		t.Errorf("the list lacks the recording:\n%s", body)
	}
	if st := b.OpenWithHeaders("play", base+"/admin/recordings/"+rec.ID, 1200, 900, auth); st != 200 {
		t.Fatalf("player page: status %d", st)
	}
	// The player's last frame holds the host's pane, row by row.
	var want []string
	for _, l := range strings.Split(last, "\n") {
		if l = strings.TrimRight(l, " "); l != "" {
			want = append(want, l)
		}
	}
	eventually(t, 60*time.Second, "the player shows the host's last screen", func() (bool, string) {
		body := b.Body("play").Text
		rest := body
		for _, l := range want {
			i := strings.Index(rest, l)
			if i < 0 {
				return false, fmt.Sprintf("no %q in:\n%s", l, body)
			}
			rest = rest[i+len(l):]
		}
		return true, ""
	})
	if log := r.log.String(); !strings.Contains(log, "admin page download of recording "+rec.ID) || !strings.Contains(log, "user=alice recording="+rec.ID+" result=ok") {
		t.Errorf("the download is not in the audit trail:\n%s", grepLines(r.log.String(), "admin"))
	}
}

// TestAdminPagesOverHTTPS: with a certificate the admin pages are served
// over HTTPS like the rest of the web side, and the relay does not warn
// of passwords in the clear.
func TestAdminPagesOverHTTPS(t *testing.T) {
	dir := t.TempDir()
	certPEM, keyPEM := selfSigned(t)
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, certPEM, 0o644)
	os.WriteFile(keyFile, keyPEM, 0o600)
	r := prepareRelay(t, recordingConf(filepath.Join(dir, "recordings"), "")+
		"[admin.users]\nalice = \"$2a$04$6x.osI6oX8v/k72MJnYkueJspbEzk2B0fGzML7L.pOitDjpZDrJqu\"\n")
	conf, _ := os.ReadFile(r.conf)
	conf = []byte(strings.Replace(string(conf), "[web]\n", fmt.Sprintf("[web]\ntls_cert = %q\ntls_key = %q\n", certFile, keyFile), 1))
	os.WriteFile(r.conf, conf, 0o644)
	r.launch(relayBin, "serve", "-c", r.conf)

	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	u := fmt.Sprintf("https://127.0.0.1:%d/admin/recordings/", r.webPort)
	for _, tc := range []struct {
		pw     string
		status int
	}{{"", http.StatusUnauthorized}, {"wrong", http.StatusUnauthorized}, {"s3cret pass", http.StatusOK}} {
		req, _ := http.NewRequest("GET", u, nil)
		if tc.pw != "" {
			req.SetBasicAuth("alice", tc.pw)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("HTTPS: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("password %q: status %d, want %d", tc.pw, resp.StatusCode, tc.status)
		}
	}
	if strings.Contains(r.log.String(), "use HTTPS") {
		t.Errorf("the relay warns of plain HTTP despite its certificate")
	}
}

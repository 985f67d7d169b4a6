package loadtest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// relayBin is the tmate-relay binary, built once for the package's tests.
var relayBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tmate-relay-load")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	relayBin = filepath.Join(dir, "tmate-relay")
	build := exec.Command("go", "build", "-o", relayBin, "tmate-relay/cmd/tmate-relay")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building tmate-relay:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startRelay runs the relay with its shipped limits on loopback ports and
// returns its SSH address, web URL and process.
func startRelay(t *testing.T) (addr, web string, cmd *exec.Cmd) {
	t.Helper()
	dir := t.TempDir()
	ssh, http := freePort(t), freePort(t)
	conf := filepath.Join(dir, "relay.toml")
	err := os.WriteFile(conf, []byte(fmt.Sprintf(`[ssh]
listen = "127.0.0.1:%d"
advertise_host = "127.0.0.1"
advertise_port = %d
host_keys_dir = "%s/keys"
[web]
listen = "127.0.0.1:%d"
[log]
level = "warn"
`, ssh, ssh, dir, http)), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(relayBin, "keygen", "-c", conf).CombinedOutput(); err != nil {
		t.Fatalf("keygen: %v\n%s", err, out)
	}
	cmd = exec.Command(relayBin, "serve", "-c", conf)
	log, err := os.Create(filepath.Join(dir, "relay.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			b, _ := os.ReadFile(log.Name())
			t.Logf("relay log:\n%s", b)
		}
	})
	addr = fmt.Sprintf("127.0.0.1:%d", ssh)
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("relay not listening: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return addr, fmt.Sprintf("http://127.0.0.1:%d", http), cmd
}

// TestSmoke is the short steady run of `make test`: 100 sessions with an
// ssh and a browser guest each for 10 s, against a relay with its shipped
// limits, the sessions spread over 127.0.0.0/8. Any error fails it, and
// so does a guest that missed a marker; nothing is timed.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 100 sessions for 10 s")
	}
	addr, web, relay := startRelay(t)
	res, err := Run(context.Background(), Config{
		Addr: addr, Web: web, Sessions: 100, SSHGuests: 1, WebGuests: 1,
		Workload: Steady, Duration: 10 * time.Second, RelayPID: relay.Process.Pid,
		SpreadSources: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", *res)
	if res.Errors != 0 {
		t.Errorf("%d errors: %q", res.Errors, res.ErrorSamples)
	}
	if res.SessionsOK != 100 || res.GuestsOK != 200 {
		t.Errorf("%d sessions and %d guests ok, want 100 and 200", res.SessionsOK, res.GuestsOK)
	}
	// Each guest timed at least the markers of the last seconds.
	if res.LatSamples < 200*5 {
		t.Errorf("%d markers timed on the guests' screens, want at least %d", res.LatSamples, 200*5)
	}
	if res.RelayRSS == 0 || res.FDs < 300 {
		t.Errorf("relay RSS %d bytes, %d descriptors: /proc not read", res.RelayRSS, res.FDs)
	}
}

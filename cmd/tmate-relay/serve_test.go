package main

import (
	"bytes"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"tmate-relay/service/config"
)

// TestServeHelp: asking for help is not an error.
func TestServeHelp(t *testing.T) {
	for _, arg := range []string{"-h", "--help"} {
		out, code := runMain(t, "serve", arg)
		if code != 0 || !strings.Contains(out, "usage: tmate-relay serve [-c FILE]") || !strings.Contains(out, "-c FILE") {
			t.Errorf("serve %s: exit %d\n%s", arg, code, out)
		}
		if strings.Contains(out, "help requested") {
			t.Errorf("serve %s reports help as an error:\n%s", arg, out)
		}
	}
}

// TestMissingDefaultConfig: without -c, a missing default configuration
// says how to name one; with -c, the plain error names the file.
func TestMissingDefaultConfig(t *testing.T) {
	cl := newCommandLine("serve", "usage", "", &bytes.Buffer{})
	*cl.config = filepath.Join(t.TempDir(), "relay.toml") // stands in for the default path
	_, err := cl.load(nil)
	if err == nil || !strings.Contains(err.Error(), "no such file") || !strings.Contains(err.Error(), "-c FILE") || !strings.Contains(err.Error(), "make run") {
		t.Errorf("missing default config: %v", err)
	}
	missing := filepath.Join(t.TempDir(), "nope.toml")
	_, err = newCommandLine("serve", "usage", "", &bytes.Buffer{}).load([]string{"-c", missing})
	if err == nil || !strings.Contains(err.Error(), missing) || strings.Contains(err.Error(), "make run") {
		t.Errorf("missing -c config: %v", err)
	}
}

// TestReadyLineNamesWebAddress: the "relay ready" line tells where
// browsers go, not only the SSH address.
func TestReadyLineNamesWebAddress(t *testing.T) {
	cfg, err := config.Parse("relay.toml", "[ssh]\nlisten = \"127.0.0.1:0\"\nadvertise_host = \"relay.example.com\"\n[web]\nlisten = \"127.0.0.1:0\"\n")
	if err != nil {
		t.Fatal(err)
	}
	sshL, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sshL.Close()
	httpL, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer httpL.Close()
	cfg.Web.PublicURL = "https://relay.example.com"
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("relay ready", readyAttrs(cfg, sshL, httpL, nil)...)
	for _, want := range []string{"ssh=" + sshL.Addr().String(), "web=" + httpL.Addr().String(), "web_url=https://relay.example.com"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("ready line lacks %s:\n%s", want, buf.String())
		}
	}
	buf.Reset()
	slog.New(slog.NewTextHandler(&buf, nil)).Info("relay ready", readyAttrs(cfg, sshL, nil, nil)...)
	if strings.Contains(buf.String(), "web") {
		t.Errorf("ready line without a web listener names one:\n%s", buf.String())
	}
}

// runMain runs this test binary as tmate-relay with args and returns its
// combined output and exit code.
func runMain(t *testing.T, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^TestHelperMain$", "--"}, args...)...)
	cmd.Env = append(os.Environ(), "TMATE_RELAY_TEST_MAIN=1")
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), 0
}

// TestHelperMain is main() for runMain.
func TestHelperMain(t *testing.T) {
	if os.Getenv("TMATE_RELAY_TEST_MAIN") != "1" {
		return // only runMain's child process runs main
	}
	for i, a := range os.Args {
		if a == "--" {
			os.Args = append([]string{"tmate-relay"}, os.Args[i+1:]...)
			break
		}
	}
	main()
	os.Exit(0)
}

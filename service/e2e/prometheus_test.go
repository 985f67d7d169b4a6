package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"tmate-relay/service/logtest"
)

// A real Prometheus (Debian's prometheus package) scrapes a relay with a
// live tmate session and one read-write ssh guest, and its query API
// returns those counts; it also loads the alert rules the package ships.
func TestPrometheusScrapesSessionAndGuest(t *testing.T) {
	needTools(t, "tmate", "tmux", "ssh", "ssh-keygen", "prometheus")
	r := startRelay(t, "")
	h := startHost(t, r, 80, 24, "")
	token := tokenOf(t, h.display("#{tmate_ssh}"))
	g := sshGuest(t, r, token, 80, 25)
	// Output after the guest is surely attached (it shows the first
	// line), so that a frame of it is measured.
	h.run("send-keys", "echo attached-$((6*7))", "Enter")
	g.waitFor("attached-42", 10*time.Second)
	h.run("send-keys", "echo scraped-$((6*7))", "Enter")
	g.waitFor("scraped-42", 10*time.Second)

	// What Prometheus reads never holds a token.
	scrape := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/metrics", r.metricsPort))
	if strings.Contains(scrape, token) || !strings.Contains(scrape, "tmate_relay_sessions") {
		t.Fatalf("the relay's /metrics shows a token, or no session count:\n%s", scrape)
	}

	p := startPrometheus(t, r.metricsPort)
	for _, tc := range []struct{ query, want string }{
		{`up{job="tmate-relay"}`, "1"},
		{`tmate_relay_sessions{state="live"}`, "1"},
		{`tmate_relay_sessions{state="waiting"}`, "0"},
		{`tmate_relay_guests{transport="ssh",role="rw"}`, "1"},
		{`sum(tmate_relay_guests)`, "1"},
		{`tmate_relay_guest_joins_total{transport="ssh",role="rw"}`, "1"},
		{`tmate_relay_host_bytes_total > 0`, ""}, // any value: the host's stream was counted
		{`tmate_relay_frame_latency_seconds_count > 0`, ""},
	} {
		eventually(t, 60*time.Second, "prometheus: "+tc.query, func() (bool, string) {
			v, err := p.query(tc.query)
			if err != nil {
				return false, err.Error()
			}
			return v != "" && (tc.want == "" || v == tc.want), "value " + v
		})
	}
	rules := httpGet(t, p.url+"/api/v1/rules")
	for _, alert := range []string{"TmateRelayDown", "TmateRelayRepositoryExpiring", "TmateRelayFrameLatencyHigh"} {
		if !strings.Contains(rules, `"name":"`+alert+`"`) {
			t.Errorf("prometheus did not load the shipped alert %s:\n%.2000s", alert, rules)
		}
	}
}

// prometheus is a Prometheus server this test started.
type prometheus struct {
	url string
	cmd *exec.Cmd
}

// startPrometheus runs Debian's prometheus on a free loopback port, with
// its own configuration and storage in a temporary directory, scraping the
// relay's metrics on metricsPort every second and loading the shipped alert
// rules. It is stopped by its PID when the test ends.
func startPrometheus(t *testing.T, metricsPort int) *prometheus {
	t.Helper()
	dir := t.TempDir()
	rules, err := filepath.Abs(filepath.Join("..", "..", "packaging", "monitoring", "tmate-relay-alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files: [%q]
scrape_configs:
  - job_name: tmate-relay
    static_configs:
      - targets: ["127.0.0.1:%d"]
`, rules, metricsPort)
	confPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	log := &logtest.Buffer{}
	cmd := exec.Command("prometheus",
		"--config.file="+confPath,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port),
		"--web.console.templates="+filepath.Join(dir, "none"),
		"--web.console.libraries="+filepath.Join(dir, "none"))
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &prometheus{url: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("prometheus log:\n%s", log.String())
		}
	})
	eventually(t, 30*time.Second, "prometheus ready", func() (bool, string) {
		resp, err := http.Get(p.url + "/-/ready")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == 200, resp.Status + "\n" + log.String()
	})
	return p
}

// query runs an instant query through Prometheus' HTTP API and returns the
// value of its one sample ("" when the result is empty).
func (p *prometheus) query(q string) (string, error) {
	resp, err := http.Get(p.url + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var r struct {
		Status string
		Error  string
		Data   struct {
			Result []struct {
				Metric map[string]string
				Value  [2]any
			}
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return "", err
	}
	switch {
	case r.Status != "success":
		return "", fmt.Errorf("%s: %s", r.Status, r.Error)
	case len(r.Data.Result) == 0:
		return "", nil
	case len(r.Data.Result) > 1:
		return "", fmt.Errorf("%d series: %v", len(r.Data.Result), r.Data.Result)
	}
	v, _ := r.Data.Result[0].Value[1].(string)
	return v, nil
}

func httpGet(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %v %s", u, err, resp.Status)
	}
	return string(b)
}

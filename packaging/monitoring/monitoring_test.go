package monitoring

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"tmate-relay/service/metrics"
	"tmate-relay/service/session"
)

// promtool runs Debian's promtool (package prometheus) with args; in CI a
// missing promtool fails the test.
func promtool(t *testing.T, args ...string) (string, error) {
	t.Helper()
	if _, err := exec.LookPath("promtool"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("promtool is required (make deps installs the prometheus package)")
		}
		t.Skip("promtool not installed (CI fails here; make deps installs it)")
	}
	out, err := exec.Command("promtool", args...).CombinedOutput()
	return string(out), err
}

func read(t *testing.T, name string) string {
	t.Helper()
	b, err := Files.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The shipped rules are what Prometheus loads: promtool accepts them.
func TestAlertRulesPassPromtool(t *testing.T) {
	out, err := promtool(t, "check", "rules", Alerts)
	if err != nil || !strings.Contains(out, "SUCCESS") {
		t.Fatalf("promtool check rules %s: %v\n%s", Alerts, err, out)
	}
}

// The alerts fire on the series they are about, and stay quiet otherwise
// (promtool test rules over synthetic series).
func TestAlertsFire(t *testing.T) {
	dir := t.TempDir()
	abs, err := filepath.Abs(Alerts)
	if err != nil {
		t.Fatal(err)
	}
	tests := fmt.Sprintf(`rule_files: [%q]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'up{job="tmate-relay",instance="r1"}'
        values: '1 0 0 0 0'
      - series: 'tmate_relay_repo_valid_seconds{job="tmate-relay",instance="r1"}'
        values: '90000-3600x20'
      - series: 'tmate_relay_refusals_total{job="tmate-relay",instance="r1",reason="bad_token"}'
        values: '0+120x30'
      - series: 'tmate_relay_refusals_total{job="tmate-relay",instance="r1",reason="limits"}'
        values: '0x30'
    alert_rule_test:
      - eval_time: 2m
        alertname: TmateRelayDown
        exp_alerts: []
      - eval_time: 4m
        alertname: TmateRelayDown
        exp_alerts:
          - exp_labels: {severity: critical, job: tmate-relay, instance: r1}
            exp_annotations:
              summary: "tmate-relay r1 cannot be scraped"
              description: %q
      - eval_time: 1m
        alertname: TmateRelayRepositoryExpiring
        exp_alerts: []
      - eval_time: 15m
        alertname: TmateRelayRepositoryExpiring
        exp_alerts:
          - exp_labels: {severity: warning, job: tmate-relay, instance: r1}
            exp_annotations:
              summary: "tmate-relay r1: signed repository expires in 10h 0m 0s"
              description: %q
      - eval_time: 25m
        alertname: TmateRelayTokenGuessing
        exp_alerts:
          - exp_labels: {severity: warning, job: tmate-relay, instance: r1, reason: bad_token}
            exp_annotations:
              summary: "tmate-relay r1: many unknown session tokens"
              description: %q
      - eval_time: 25m
        alertname: TmateRelayRefusingOverLimits
        exp_alerts: []
`, abs, description(t, "TmateRelayDown"), description(t, "TmateRelayRepositoryExpiring"), description(t, "TmateRelayTokenGuessing"))
	f := filepath.Join(dir, "alerts_test.yml")
	if err := os.WriteFile(f, []byte(tests), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := promtool(t, "test", "rules", f)
	if err != nil {
		t.Fatalf("promtool test rules: %v\n%s", err, out)
	}
}

// description is an alert's description annotation as the rules file
// has it (these hold no template).
func description(t *testing.T, alert string) string {
	t.Helper()
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert       string
				Annotations map[string]string
			}
		}
	}
	if err := yaml.Unmarshal([]byte(read(t, Alerts)), &rules); err != nil {
		t.Fatal(err)
	}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r.Alert == alert {
				return r.Annotations["description"]
			}
		}
	}
	t.Fatalf("no alert %s", alert)
	return ""
}

// dashboard is the shipped Grafana dashboard's queries, by panel title.
func dashboard(t *testing.T) map[string][]string {
	t.Helper()
	var d struct {
		UID    string
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal([]byte(read(t, Dashboard)), &d); err != nil {
		t.Fatalf("%s: %v", Dashboard, err)
	}
	if d.UID == "" || len(d.Panels) == 0 {
		t.Fatalf("%s: no uid or no panels", Dashboard)
	}
	exprs := map[string][]string{}
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			exprs[p.Title] = append(exprs[p.Title], tg.Expr)
		}
		if len(exprs[p.Title]) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
	}
	return exprs
}

// Every dashboard query is valid PromQL once Grafana's variables are
// filled in: promtool checks them as recording rules.
func TestDashboardQueriesParse(t *testing.T) {
	vars := strings.NewReplacer("$__rate_interval", "1m", "$instance", ".*")
	var b strings.Builder
	b.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	for title, exprs := range dashboard(t) {
		for i, e := range exprs {
			q, _ := json.Marshal(vars.Replace(e)) // a JSON string is a YAML string
			fmt.Fprintf(&b, "      - record: panel_%d_%s\n        expr: %s\n", i, regexp.MustCompile(`\W+`).ReplaceAllString(title, "_"), q)
		}
	}
	f := filepath.Join(t.TempDir(), "dashboard.yml")
	if err := os.WriteFile(f, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := promtool(t, "check", "rules", f); err != nil {
		t.Fatalf("a dashboard query is not valid PromQL: %v\n%s\n%s", err, out, b.String())
	}
}

// The rules and the dashboard name only metrics the relay serves.
func TestReferencedMetricsExist(t *testing.T) {
	m := metrics.New(session.NewRegistry(0), "test")
	m.RepoValidUntil(time.Now().Add(time.Hour)) // reported once a repository was written
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	served := map[string]bool{"up": true} // Prometheus' own
	for _, line := range strings.Split(string(body), "\n") {
		if name, ok := strings.CutPrefix(line, "# TYPE "); ok {
			name = strings.Fields(name)[0]
			served[name] = true
			for _, sfx := range []string{"_bucket", "_sum", "_count"} {
				served[name+sfx] = true
			}
		}
	}
	names := regexp.MustCompile(`\b(?:tmate_relay|process|go|up)(?:_[a-z]+)*\b`)
	texts := map[string]string{Alerts: read(t, Alerts)}
	for title, exprs := range dashboard(t) {
		texts[Dashboard+": "+title] = strings.Join(exprs, "\n")
	}
	var used []string
	for where, text := range texts {
		for _, n := range names.FindAllString(text, -1) {
			if n == "tmate_relay" || n == "tmate_relay_" {
				continue
			}
			used = append(used, n)
			if !served[n] {
				t.Errorf("%s: %s is not a metric the relay serves", where, n)
			}
		}
	}
	if !slices.Contains(used, "tmate_relay_sessions") || !slices.Contains(used, "tmate_relay_guests") {
		t.Errorf("the session and guest counts are not used: %v", used)
	}
}

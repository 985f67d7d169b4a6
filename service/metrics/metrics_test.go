package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"tmate-relay/service/session"
)

// nopHost is a host that takes every message and answers nothing.
type nopHost struct{}

func (nopHost) Notify(string) error          { return nil }
func (nopHost) Resize(int, int) error        { return nil }
func (nopHost) SetEnv(string, string) error  { return nil }
func (nopHost) Ready() error                 { return nil }
func (nopHost) PaneKey(int, uint64) error    { return nil }
func (nopHost) ExecCmd(int, ...string) error { return nil }

// scrape returns what Prometheus reads from m's handler.
func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("scrape: status %d", rec.Code)
	}
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}

func hasLine(text, line string) bool {
	for _, l := range strings.Split(text, "\n") {
		if l == line {
			return true
		}
	}
	return false
}

// The session and guest gauges are what the registry holds when scraped.
func TestScrapeReadsSessionsAndGuests(t *testing.T) {
	reg := session.NewRegistry(0)
	m := New(reg, "1.2.3")
	s := session.New(session.Config{}, nopHost{})
	if err := reg.Add(s); err != nil {
		t.Fatal(err)
	}
	for _, g := range []struct {
		tr session.Transport
		ro bool
	}{{session.TransportSSH, false}, {session.TransportSSH, false}, {session.TransportWeb, true}} {
		if _, err := s.AttachVia(g.tr, g.ro, "192.0.2.1", 80, 24); err != nil {
			t.Fatal(err)
		}
	}
	out := scrape(t, m)
	for _, want := range []string{
		`tmate_relay_sessions{state="live"} 1`,
		`tmate_relay_sessions{state="waiting"} 0`,
		`tmate_relay_guests{role="rw",transport="ssh"} 2`,
		`tmate_relay_guests{role="ro",transport="ssh"} 0`,
		`tmate_relay_guests{role="ro",transport="web"} 1`,
		`tmate_relay_guests{role="rw",transport="web"} 0`,
	} {
		if !hasLine(out, want) {
			t.Errorf("scrape lacks %s", want)
		}
	}
	for _, secret := range []string{s.Token(), s.ReadOnlyToken(), "192.0.2.1"} {
		if strings.Contains(out, secret) {
			t.Errorf("scrape shows %q", secret)
		}
	}
	reg.Remove(s)
	if out := scrape(t, m); !hasLine(out, `tmate_relay_sessions{state="live"} 0`) {
		t.Errorf("a removed session is still counted")
	}
}

// Events are counted by their labels, and every label value has a series
// from the start, so that rate() and alerts see the first event.
func TestEventsAreCounted(t *testing.T) {
	m := New(session.NewRegistry(0), "1.2.3")
	before := scrape(t, m)
	for _, want := range []string{
		`tmate_relay_refusals_total{reason="bad_token"} 0`,
		`tmate_relay_refusals_total{reason="guest_key"} 0`,
		`tmate_relay_guest_joins_total{role="ro",transport="web"} 0`,
		`tmate_relay_host_reconnects_total 0`,
	} {
		if !strings.Contains(before, want) {
			t.Errorf("fresh scrape lacks %s", want)
		}
	}
	if strings.Contains(before, "tmate_relay_repo_valid_seconds ") {
		t.Error("repo validity reported before any repository was written")
	}

	ssh := &session.Guest{Transport: session.TransportSSH}
	web := &session.Guest{Transport: session.TransportWeb, ReadOnly: true}
	m.GuestJoined(ssh)
	m.GuestJoined(web)
	m.GuestLeft(web)
	m.Refused(BadToken)
	m.Refused(BadToken)
	for _, err := range []error{session.ErrTooManyReadOnlyGuests, session.ErrEnded} { // ErrEnded: not a refusal
		if IsLimit(err) {
			m.Refused(Limits)
		}
	}
	m.HostReconnected()
	io.Copy(io.Discard, m.HostReader(strings.NewReader("0123456789")))
	m.FrameWritten(session.TransportSSH, 100, time.Now().Add(-3*time.Millisecond))
	m.FrameWritten(session.TransportWeb, 50, time.Time{})
	m.Handshake(time.Now().Add(-20 * time.Millisecond))
	m.RepoValidUntil(time.Now().Add(time.Hour))

	out := scrape(t, m)
	for _, want := range []string{
		`tmate_relay_guest_joins_total{role="rw",transport="ssh"} 1`,
		`tmate_relay_guest_joins_total{role="ro",transport="web"} 1`,
		`tmate_relay_guest_leaves_total{role="ro",transport="web"} 1`,
		`tmate_relay_guest_leaves_total{role="rw",transport="ssh"} 0`,
		`tmate_relay_refusals_total{reason="bad_token"} 2`,
		`tmate_relay_refusals_total{reason="limits"} 1`,
		`tmate_relay_refusals_total{reason="host_not_allowed"} 0`,
		`tmate_relay_host_reconnects_total 1`,
		`tmate_relay_host_bytes_total 10`,
		`tmate_relay_guest_bytes_total{transport="ssh"} 100`,
		`tmate_relay_guest_bytes_total{transport="web"} 50`,
		`tmate_relay_frame_latency_seconds_count 1`,
		`tmate_relay_frame_latency_seconds_bucket{le="0.0025"} 0`,
		`tmate_relay_frame_latency_seconds_bucket{le="0.005"} 1`,
		`tmate_relay_ssh_handshake_seconds_count 1`,
		`tmate_relay_ssh_handshake_seconds_bucket{le="0.01"} 0`,
		`tmate_relay_ssh_handshake_seconds_bucket{le="0.025"} 1`,
	} {
		if !hasLine(out, want) {
			t.Errorf("scrape lacks %s", want)
		}
	}
	if !strings.Contains(out, "\ntmate_relay_repo_valid_seconds 3599.") && !strings.Contains(out, "\ntmate_relay_repo_valid_seconds 3600") {
		t.Errorf("repo validity is not about an hour:\n%s", grep(out, "repo_valid"))
	}
}

// One frame in FrameSample that showed new output is measured.
func TestFrameLatencyIsSampled(t *testing.T) {
	m := New(session.NewRegistry(0), "1.2.3")
	for range 3 * FrameSample {
		m.FrameWritten(session.TransportSSH, 1, time.Now())
		m.FrameWritten(session.TransportSSH, 1, time.Time{}) // no new output: never measured
	}
	if out := scrape(t, m); !hasLine(out, "tmate_relay_frame_latency_seconds_count 3") {
		t.Errorf("want 3 samples of %d frames:\n%s", 3*FrameSample, grep(out, "frame_latency_seconds_count"))
	}
}

// The build info, Go and process collectors are there.
func TestStandardCollectors(t *testing.T) {
	out := scrape(t, New(session.NewRegistry(0), "1.2.3"))
	for _, want := range []string{`tmate_relay_build_info{goversion="go`, `version="1.2.3"} 1`, "\ngo_goroutines ", "\nprocess_cpu_seconds_total ", "\nprocess_open_fds "} {
		if !strings.Contains(out, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
}

// Code that does not care passes a nil *Metrics: nothing is counted, and
// nothing breaks.
func TestNilMetricsCountsNothing(t *testing.T) {
	var m *Metrics
	g := &session.Guest{Transport: session.TransportSSH}
	m.GuestJoined(g)
	m.GuestLeft(g)
	m.Refused(GuestKey)
	m.HostReconnected()
	m.Handshake(time.Now())
	m.FrameWritten(session.TransportSSH, 10, time.Now())
	m.RepoValidUntil(time.Now())
	r := strings.NewReader("x")
	if m.HostReader(r) != r {
		t.Error("a nil *Metrics wraps the host's reader")
	}
}

func grep(text, word string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, word) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// BenchmarkFrameWritten is what each frame to a guest costs the metrics.
func BenchmarkFrameWritten(b *testing.B) {
	m := New(session.NewRegistry(0), "bench")
	at := time.Now()
	for b.Loop() {
		m.FrameWritten(session.TransportSSH, 100, at)
	}
}

// BenchmarkScrape is one scrape of a relay at its shipped session limit
// (1000 sessions) with 3 guests each.
func BenchmarkScrape(b *testing.B) {
	reg := session.NewRegistry(0)
	for range 1000 {
		s := session.New(session.Config{}, nopHost{})
		reg.Add(s)
		for range 3 {
			s.AttachVia(session.TransportSSH, false, "192.0.2.1", 80, 24)
		}
	}
	m := New(reg, "bench")
	for b.Loop() {
		rec := httptest.NewRecorder()
		m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	}
}

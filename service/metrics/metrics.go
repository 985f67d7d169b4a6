// Package metrics is the relay's Prometheus metrics: their definitions,
// the registry they live in, and the HTTP handler that serves them.
//
// Counts of sessions and guests are read from the session registry at
// scrape time, so they cannot drift from what the relay holds; events
// (joins, refusals, bytes, reconnects) and durations are counted where they
// happen, through a *Metrics that may be nil (then nothing is counted).
// No label ever carries a token, an address or a key.
package metrics

import (
	"errors"
	"io"
	"net/http"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"tmate-relay/service/session"
)

// Namespace prefixes every metric of the relay's own.
const Namespace = "tmate_relay"

// Reason is why a connection was refused (the refusals' reason label).
type Reason string

// The reasons for refusals.
const (
	BadToken       Reason = "bad_token"        // unknown or expired token
	Limits         Reason = "limits"           // a configured limit was reached
	HostNotAllowed Reason = "host_not_allowed" // host key not in [hosts] authorized_keys
	GuestKey       Reason = "guest_key"        // guest key not listed by the session's host
)

// Reasons lists every Reason, so each has a series from the start.
var Reasons = []Reason{BadToken, Limits, HostNotAllowed, GuestKey}

// transports and roles label guests; their series all exist from the start.
var (
	transports = []session.Transport{session.TransportSSH, session.TransportWeb}
	roles      = []bool{false, true} // read-only
)

func roleLabel(readOnly bool) string {
	if readOnly {
		return "ro"
	}
	return "rw"
}

// FrameSample is how often frame latency is measured: one frame in
// FrameSample of those showing new host output, over all guests (the first
// one always).
const FrameSample = 8

// Metrics is the relay's metrics; its methods do nothing on a nil *Metrics.
type Metrics struct {
	reg *prometheus.Registry

	joins, leaves *prometheus.CounterVec
	refusals      *prometheus.CounterVec
	hostBytes     prometheus.Counter
	guestBytes    map[session.Transport]prometheus.Counter
	reconnects    prometheus.Counter
	recStops      *prometheus.CounterVec
	handshake     prometheus.Histogram
	frameLatency  prometheus.Histogram

	frames         atomic.Uint64 // frames with new host output, for FrameSample
	repoValidUntil atomic.Int64  // unix ns; 0: no repository written
}

// New returns the relay's metrics, with gauges read from sessions at
// scrape time; version is the relay's (build info).
func New(sessions *session.Registry, version string) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	f := factory{m.reg}
	m.joins = f.counterVec("guest_joins_total", "Guests that joined a session.", "transport", "role")
	m.leaves = f.counterVec("guest_leaves_total", "Guests that left a session (or whose session ended).", "transport", "role")
	m.refusals = f.counterVec("refusals_total", "Connections refused, by reason: bad_token, limits, host_not_allowed, guest_key.", "reason")
	m.hostBytes = f.counter("host_bytes_total", "Bytes received from tmate hosts (their SSH channel's payload).")
	bytes := f.counterVec("guest_bytes_total", "Bytes of frames written to guests' terminals.", "transport")
	m.guestBytes = map[session.Transport]prometheus.Counter{}
	for _, t := range transports {
		m.guestBytes[t] = bytes.WithLabelValues(string(t))
		for _, ro := range roles {
			m.joins.WithLabelValues(string(t), roleLabel(ro))
			m.leaves.WithLabelValues(string(t), roleLabel(ro))
		}
	}
	for _, r := range Reasons {
		m.refusals.WithLabelValues(string(r))
	}
	m.recStops = f.counterVec("recording_failures_total", "Session recordings stopped early, by reason: write_error (a full disk, an unwritable directory) or max_bytes.", "reason")
	for _, r := range []string{RecordingWriteError, RecordingMaxBytes} {
		m.recStops.WithLabelValues(r)
	}
	m.reconnects = f.counter("host_reconnects_total", "Hosts that reconnected to their session.")
	m.handshake = f.histogram("ssh_handshake_seconds", "Time from accepting an SSH connection to the end of its handshake and authentication.",
		[]float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 20})
	m.frameLatency = f.histogram("frame_latency_seconds", "Time from a host's PTY_DATA arriving to the frame showing it written to a guest, for one such frame in 8.",
		[]float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5})
	m.reg.MustRegister(
		sessionCollector{sessions},
		repoCollector{m},
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "build_info",
			Help:        "The relay's version and Go version; always 1.",
			ConstLabels: prometheus.Labels{"version": version, "goversion": runtime.Version()},
		}, func() float64 { return 1 }),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Handler serves the metrics in Prometheus' text (or OpenMetrics) format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// GuestJoined counts a guest that joined; GuestLeft one that left.
func (m *Metrics) GuestJoined(g *session.Guest) {
	if m != nil {
		m.joins.WithLabelValues(string(g.Transport), roleLabel(g.ReadOnly)).Inc()
	}
}

func (m *Metrics) GuestLeft(g *session.Guest) {
	if m != nil {
		m.leaves.WithLabelValues(string(g.Transport), roleLabel(g.ReadOnly)).Inc()
	}
}

// Refused counts a refused host or guest.
func (m *Metrics) Refused(r Reason) {
	if m != nil {
		m.refusals.WithLabelValues(string(r)).Inc()
	}
}

// IsLimit reports whether err, a guest's failure to attach
// (Session.AttachVia's), is a guest cap's refusal, counted as Limits; a
// session that ended meanwhile is no refusal.
func IsLimit(err error) bool {
	return errors.Is(err, session.ErrTooManyGuests) || errors.Is(err, session.ErrTooManyReadOnlyGuests)
}

// Why a session's recording stopped before the session ended.
const (
	RecordingWriteError = "write_error"
	RecordingMaxBytes   = "max_bytes"
)

// RecordingStopped counts a recording stopped early for reason
// (RecordingWriteError, RecordingMaxBytes).
func (m *Metrics) RecordingStopped(reason string) {
	if m != nil {
		m.recStops.WithLabelValues(reason).Inc()
	}
}

// HostReconnected counts a host that got its session back.
func (m *Metrics) HostReconnected() {
	if m != nil {
		m.reconnects.Inc()
	}
}

// Handshake records how long an SSH handshake took, from its start.
func (m *Metrics) Handshake(start time.Time) {
	if m != nil {
		m.handshake.Observe(time.Since(start).Seconds())
	}
}

// FrameWritten counts a frame of n bytes written to a guest that t
// carries and, for one frame in FrameSample that showed new host output,
// records its latency from that output's arrival (dataAt; zero: the frame
// showed none).
func (m *Metrics) FrameWritten(t session.Transport, n int, dataAt time.Time) {
	if m == nil {
		return
	}
	if c := m.guestBytes[t]; c != nil {
		c.Add(float64(n))
	}
	if !dataAt.IsZero() && m.frames.Add(1)%FrameSample == 1 {
		m.frameLatency.Observe(time.Since(dataAt).Seconds())
	}
}

// RepoValidUntil records when the signed repository's Release expires.
func (m *Metrics) RepoValidUntil(t time.Time) {
	if m != nil {
		m.repoValidUntil.Store(t.UnixNano())
	}
}

type factory struct{ reg *prometheus.Registry }

func (f factory) counter(name, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help})
	f.reg.MustRegister(c)
	return c
}

func (f factory) counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help}, labels)
	f.reg.MustRegister(c)
	return c
}

func (f factory) histogram(name, help string, buckets []float64) prometheus.Histogram {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: Namespace, Name: name, Help: help, Buckets: buckets})
	f.reg.MustRegister(h)
	return h
}

var (
	sessionsDesc = prometheus.NewDesc(Namespace+"_sessions",
		"Sessions on the relay, by state: live (host connected) or waiting (for the host to reconnect).", []string{"state"}, nil)
	guestsDesc = prometheus.NewDesc(Namespace+"_guests",
		"Guests attached to sessions, by transport (ssh, web) and role (rw, ro).", []string{"transport", "role"}, nil)
	repoDesc = prometheus.NewDesc(Namespace+"_repo_valid_seconds",
		"Seconds until the signed apt repository's Release expires (Valid-Until); absent until one is written.", nil, nil)
)

// sessionCollector counts sessions and guests from the registry when
// scraped.
type sessionCollector struct{ reg *session.Registry }

func (c sessionCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- sessionsDesc
	ch <- guestsDesc
}

func (c sessionCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.reg.Stats()
	ch <- prometheus.MustNewConstMetric(sessionsDesc, prometheus.GaugeValue, float64(st.Live), "live")
	ch <- prometheus.MustNewConstMetric(sessionsDesc, prometheus.GaugeValue, float64(st.Waiting), "waiting")
	for _, t := range transports {
		for _, ro := range roles {
			n := st.Guests[session.GuestKind{Transport: t, ReadOnly: ro}]
			ch <- prometheus.MustNewConstMetric(guestsDesc, prometheus.GaugeValue, float64(n), string(t), roleLabel(ro))
		}
	}
}

// repoCollector reports the repository's validity left once it is known.
type repoCollector struct{ m *Metrics }

func (c repoCollector) Describe(ch chan<- *prometheus.Desc) { ch <- repoDesc }

func (c repoCollector) Collect(ch chan<- prometheus.Metric) {
	if ns := c.m.repoValidUntil.Load(); ns != 0 {
		ch <- prometheus.MustNewConstMetric(repoDesc, prometheus.GaugeValue, time.Until(time.Unix(0, ns)).Seconds())
	}
}

// HostReader counts the bytes read from r as a host's (r itself when m is
// nil).
func (m *Metrics) HostReader(r io.Reader) io.Reader {
	if m == nil {
		return r
	}
	return hostReader{r, m.hostBytes}
}

type hostReader struct {
	r io.Reader
	c prometheus.Counter
}

func (h hostReader) Read(b []byte) (int, error) {
	n, err := h.r.Read(b)
	if n > 0 {
		h.c.Add(float64(n))
	}
	return n, err
}

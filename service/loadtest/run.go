// Package loadtest drives a running relay with synthetic tmate hosts and
// ssh and browser guests, and measures what it costs: marker lines written
// by each host are timed until every guest's screen shows them, and the
// relay's memory, CPU and descriptors are read from /proc.
//
// Hosts speak the real tmate 2.4.0 protocol: they replay a recorded real
// start-up (recorded/), and reconnect with their reconnection data as
// tmate does. Guests feed what they receive into the relay's own vt
// emulator and read their screens.
package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Workloads.
const (
	Idle    = "idle"    // hosts and guests connected, nothing written
	Steady  = "steady"  // one marker line per second per session
	Flood   = "flood"   // session 0 writes FloodBytes, the others are steady
	Churn   = "churn"   // steady, and guests join and leave at ChurnRate
	Restart = "restart" // steady; the relay is stopped with SIGTERM and started again
)

// Config is one run.
type Config struct {
	Addr          string // the relay's SSH address, HOST:PORT
	Web           string // the relay's web base URL (http://HOST:PORT); needed for web guests
	Sessions      int
	SSHGuests     int // per session
	WebGuests     int // per session
	Workload      string
	Duration      time.Duration
	RelayPID      int     // the relay process, for its /proc figures (0: none)
	RestartCmd    string  // restart workload: starts the relay again (sh -c "exec CMD")
	ChurnRate     float64 // churn workload: guests joining (then leaving) per second
	FloodBytes    int64   // flood workload: what session 0 writes
	SpreadSources bool    // each session from its own 127.x.y.z address (loopback relays only)
	Log           io.Writer
}

// Result holds the figures of a run; its JSON form is the -json output.
type Result struct {
	Workload      string   `json:"workload"`
	Sessions      int      `json:"sessions"`
	Guests        int      `json:"guests"`
	SessionsOK    int      `json:"sessions_ok"`
	GuestsOK      int      `json:"guests_ok"`
	Errors        int      `json:"errors"`
	ErrorSamples  []string `json:"error_samples,omitempty"`
	Markers       int      `json:"markers"`
	LatSamples    int      `json:"lat_samples"`
	LatP50        float64  `json:"lat_p50_ms"`
	LatP99        float64  `json:"lat_p99_ms"`
	LatP999       float64  `json:"lat_p999_ms"`
	LatMax        float64  `json:"lat_max_ms"`
	LatFloodP50   float64  `json:"lat_flood_p50_ms,omitempty"` // markers of the other sessions written during the flood
	LatFloodP99   float64  `json:"lat_flood_p99_ms,omitempty"`
	RelayRSS      int64    `json:"relay_rss_bytes"`
	RelayPeakRSS  int64    `json:"relay_peak_rss_bytes"`
	RelayCPU      float64  `json:"relay_cpu_seconds"`
	BytesPerGuest int64    `json:"bytes_per_guest"`
	ReconnectAll  float64  `json:"reconnect_all_s"`
	FDs           int      `json:"fds"`
	GeneratorCPU  float64  `json:"generator_cpu_seconds"` // this process, on the same machine
	ChurnJoins    int      `json:"churn_joins,omitempty"`
	FloodSeconds  float64  `json:"flood_s,omitempty"`
	SetupSeconds  float64  `json:"setup_s"`
}

// run is the state of one Run.
type run struct {
	cfg     Config
	rec     []byte
	mu      sync.Mutex
	errs    []string
	nerrs   int
	lat     []sample
	flooded struct { // flood workload: while session 0 writes
		sync.Mutex
		from, to time.Time
	}
	ending atomic.Bool // closing down: lost connections are expected
	outage struct {    // restart: from SIGTERM until every host is back
		sync.Mutex
		from, to time.Time
	}
	restarting atomic.Bool
}

func (r *run) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.nerrs++
	if len(r.errs) < 20 {
		r.errs = append(r.errs, err.Error())
	}
}

// sample is one marker's latency to one guest.
type sample struct {
	sent time.Time
	d    time.Duration
}

func (r *run) latency(sent time.Time, d time.Duration) {
	r.mu.Lock()
	r.lat = append(r.lat, sample{sent, d})
	r.mu.Unlock()
}

func (r *run) logf(format string, args ...any) {
	if r.cfg.Log != nil {
		fmt.Fprintf(r.cfg.Log, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
	}
}

// session is a host and its guests.
type session struct {
	h      *host
	ok     bool
	guests []*guest
}

type guest struct {
	s    *screen
	conn *guestConn
	ok   bool
	down atomic.Bool // lost with the relay's restart, not back yet
}

// Run drives the relay at cfg.Addr and returns the figures; the error is
// for a run that could not start at all.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	switch cfg.Workload {
	case Idle, Steady, Flood, Churn, Restart:
	default:
		return nil, fmt.Errorf("unknown workload %q (idle, steady, flood, churn, restart)", cfg.Workload)
	}
	if cfg.Sessions < 1 {
		return nil, errors.New("sessions must be at least 1")
	}
	if cfg.WebGuests > 0 && cfg.Web == "" {
		return nil, errors.New("web guests need the relay's web URL (-web)")
	}
	if cfg.Workload == Restart && (cfg.RelayPID == 0 || cfg.RestartCmd == "") {
		return nil, errors.New("the restart workload needs the relay's PID and the command that starts it again")
	}
	if cfg.Workload == Flood && cfg.FloodBytes <= 0 {
		cfg.FloodBytes = 100e6
	}
	if cfg.Workload == Churn && cfg.ChurnRate <= 0 {
		cfg.ChurnRate = 10
	}
	if cfg.RelayPID != 0 {
		if _, err := readProc(cfg.RelayPID); err != nil {
			return nil, fmt.Errorf("relay process %d: %w", cfg.RelayPID, err)
		}
	}
	r := &run{cfg: cfg, rec: recordedStart}
	spread := cfg.SpreadSources && loopback(cfg.Addr)
	t0 := time.Now()
	res := &Result{Workload: cfg.Workload, Sessions: cfg.Sessions}

	// Hosts, then their guests, a few at a time.
	sessions := make([]*session, cfg.Sessions)
	for i := range sessions {
		var local net.IP
		if spread {
			local = sourceIP(i)
		}
		sessions[i] = &session{h: newHost(i, cfg.Addr, local, r.rec)}
	}
	r.logf("connecting %d hosts", cfg.Sessions)
	parallel(32, len(sessions), func(i int) {
		s := sessions[i]
		if err := s.h.connect(ctx, 30*time.Second); err != nil {
			r.fail(fmt.Errorf("host %d: %w", i, err))
			return
		}
		s.ok = true
	})
	type job struct {
		s   *session
		web bool
	}
	var jobs []job
	for _, s := range sessions {
		if !s.ok {
			continue
		}
		for range cfg.SSHGuests {
			jobs = append(jobs, job{s, false})
		}
		for range cfg.WebGuests {
			jobs = append(jobs, job{s, true})
		}
	}
	res.Guests = cfg.Sessions * (cfg.SSHGuests + cfg.WebGuests)
	r.logf("joining %d guests", len(jobs))
	var gmu sync.Mutex
	parallel(64, len(jobs), func(i int) {
		j := jobs[i]
		g, err := r.join(ctx, j.s.h, j.web)
		if err != nil {
			r.fail(err)
			return
		}
		gmu.Lock()
		j.s.guests = append(j.s.guests, g)
		gmu.Unlock()
	})
	res.SetupSeconds = time.Since(t0).Seconds()

	var cpu0 float64
	self0, _ := readProc(os.Getpid())
	if cfg.RelayPID != 0 {
		st, err := readProc(cfg.RelayPID)
		if err != nil {
			r.fail(fmt.Errorf("relay process %d: %w", cfg.RelayPID, err))
		}
		cpu0 = st.CPU
	}
	wctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, s := range sessions {
		if !s.ok {
			continue
		}
		wg.Go(func() { r.watchHost(wctx, s) })
		for _, g := range s.guests {
			wg.Go(func() { r.watchGuest(wctx, s, g) })
		}
	}
	r.logf("%s workload for %v", cfg.Workload, cfg.Duration)
	var writers sync.WaitGroup
	if cfg.Workload != Idle {
		for i, s := range sessions {
			if !s.ok {
				continue
			}
			if cfg.Workload == Flood && i == 0 {
				writers.Go(func() { res.FloodSeconds = r.flood(wctx, s.h) })
				continue
			}
			writers.Go(func() { r.steady(wctx, s.h) })
		}
	}
	var churnJoins atomic.Int64
	if cfg.Workload == Churn {
		wg.Go(func() { r.churn(wctx, sessions, &churnJoins) })
	}
	cpuBefore := 0.0 // CPU of a relay process that was stopped
	restarted := make(chan struct{})
	if cfg.Workload == Restart {
		go func() {
			defer close(restarted)
			var err error
			cpuBefore, res.ReconnectAll, err = r.restart(wctx, sessions)
			if err != nil {
				r.fail(err)
			}
		}()
	} else {
		close(restarted)
	}
	select {
	case <-time.After(cfg.Duration):
	case <-ctx.Done():
	}
	<-restarted          // the run lasts until every host and guest is back
	r.ending.Store(true) // from here on, markers stop; lost connections are expected
	stop()
	writers.Wait()
	wg.Wait()

	// Every host writes a last marker, and every guest must show it.
	r.logf("checking every guest's screen")
	final := map[*host]int{}
	for _, s := range sessions {
		if s.ok && s.h.connected() && cfg.Workload != Idle {
			if err := s.h.mark(); err != nil {
				r.fail(fmt.Errorf("host %d: %w", s.h.id, err))
			}
			final[s.h] = len(s.h.markers()) - 1
		}
	}
	var checks sync.WaitGroup
	for _, s := range sessions {
		for _, g := range s.guests {
			seq, ok := final[s.h]
			if !ok || g.conn == nil {
				continue
			}
			checks.Go(func() {
				cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				defer cancel()
				if !g.s.waitSeen(cctx, seq) {
					g.ok = false
					r.fail(fmt.Errorf("%s guest of session %d never showed the last marker %d", g.s.kind, s.h.id, seq))
				}
			})
		}
	}
	checks.Wait()
	if cfg.RelayPID != 0 {
		st, err := readProc(r.relayPID())
		if err != nil {
			r.fail(fmt.Errorf("relay process: %w", err))
		} else {
			res.RelayRSS, res.RelayPeakRSS, res.FDs = st.RSS, st.PeakRSS, st.FDs
			if cpuBefore > 0 {
				res.RelayCPU = cpuBefore - cpu0 + st.CPU
			} else {
				res.RelayCPU = st.CPU - cpu0
			}
		}
	}

	if self, err := readProc(os.Getpid()); err == nil {
		res.GeneratorCPU = self.CPU - self0.CPU
	}
	var bytes int64
	nguests := 0
	for _, s := range sessions {
		if s.ok && s.h.connected() {
			res.SessionsOK++
		}
		for _, g := range s.guests {
			nguests++
			bytes += g.s.received()
			if missed := r.missed(g.s); len(missed) > 0 {
				g.ok = false
				r.fail(fmt.Errorf("%s guest of session %d missed markers %v", g.s.kind, s.h.id, head(missed, 5)))
			}
			if g.ok {
				res.GuestsOK++
			}
		}
	}
	for _, s := range sessions {
		for _, g := range s.guests {
			if g.conn != nil {
				g.conn.close()
			}
		}
		s.h.close()
		res.Markers += len(s.h.markers())
	}
	if nguests > 0 {
		res.BytesPerGuest = bytes / int64(nguests)
	}
	res.ChurnJoins = int(churnJoins.Load())
	r.mu.Lock()
	defer r.mu.Unlock()
	res.Errors, res.ErrorSamples = r.nerrs, r.errs
	var all, flood []time.Duration
	for _, l := range r.lat {
		all = append(all, l.d)
		if !r.flooded.from.IsZero() && !l.sent.Before(r.flooded.from) && l.sent.Before(r.flooded.to) {
			flood = append(flood, l.d)
		}
	}
	slices.Sort(all)
	slices.Sort(flood)
	res.LatSamples = len(all)
	res.LatP50, res.LatP99, res.LatP999 = percentile(all, 50), percentile(all, 99), percentile(all, 99.9)
	res.LatMax = percentile(all, 100)
	res.LatFloodP50, res.LatFloodP99 = percentile(flood, 50), percentile(flood, 99)
	return res, nil
}

// join connects a guest and waits until its screen shows the session.
func (r *run) join(ctx context.Context, h *host, web bool) (*guest, error) {
	kind := "ssh"
	if web {
		kind = "web"
	}
	s := newScreen(h, kind, r.latency, r.fail)
	g := &guest{s: s}
	if err := r.connectGuest(ctx, g); err != nil {
		return nil, err
	}
	g.ok = true
	return g, nil
}

func (r *run) connectGuest(ctx context.Context, g *guest) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	h := g.s.h
	token, webURL := h.tokens()
	var err error
	if g.s.kind == "web" {
		if i := strings.LastIndex(webURL, "/t/"); i >= 0 {
			token = webURL[i+3:]
		}
		g.conn, err = dialWebGuest(ctx, r.cfg.Web, h.local, token, g.s)
	} else {
		g.conn, err = dialSSHGuest(ctx, r.cfg.Addr, h.local, token, g.s)
	}
	if err != nil {
		return fmt.Errorf("%s guest of session %d: %w", g.s.kind, h.id, err)
	}
	if err := g.s.waitJoined(ctx, g.conn.done); err != nil {
		g.conn.close()
		return err
	}
	return nil
}

// watchHost reports a host's lost connection, and reconnects it as tmate
// does.
func (r *run) watchHost(ctx context.Context, s *session) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.h.lostCh():
		}
		if r.ending.Load() {
			return
		}
		if !r.restarting.Load() {
			r.fail(fmt.Errorf("host %d lost its connection", s.h.id))
		}
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(reconnectDelay):
			}
			err := s.h.connect(ctx, 30*time.Second)
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				return
			}
			if !r.restarting.Load() {
				r.fail(fmt.Errorf("host %d reconnecting: %w", s.h.id, err))
			}
		}
	}
}

// watchGuest reports a guest's lost connection; while the relay restarts
// the guest joins again, as the browser page does.
func (r *run) watchGuest(ctx context.Context, s *session, g *guest) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-g.conn.done:
		}
		if r.ending.Load() {
			return
		}
		if !r.restarting.Load() {
			g.ok = false
			r.fail(fmt.Errorf("%s guest of session %d lost its connection", g.s.kind, s.h.id))
			return
		}
		g.down.Store(true)
		g.s.rejoin()
		gen := s.h.connections() // join once the host is back on the new relay
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
			if s.h.connections() == gen || !s.h.connected() {
				continue
			}
			if r.connectGuest(ctx, g) == nil {
				g.down.Store(false)
				break
			}
		}
	}
}

// steady writes a marker line every second, from a random offset.
func (r *run) steady(ctx context.Context, h *host) {
	select {
	case <-ctx.Done():
		return
	case <-time.After(rand.N(time.Second)):
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		if h.connected() {
			if err := h.mark(); err != nil && !r.restarting.Load() && !r.ending.Load() {
				r.fail(fmt.Errorf("host %d: %w", h.id, err))
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// flood writes FloodBytes to the pane as fast as the relay takes them, in
// chunks of 16 KiB (tmate's largest PTY_DATA), then turns steady.
func (r *run) flood(ctx context.Context, h *host) float64 {
	line := strings.Repeat("flood ", 13) + "\r\n"
	chunk := []byte(strings.Repeat(line, 16384/len(line)))
	t0 := time.Now()
	for sent := int64(0); sent < r.cfg.FloodBytes && ctx.Err() == nil; sent += int64(len(chunk)) {
		if err := h.sendPty(chunk); err != nil {
			r.fail(fmt.Errorf("flooding host %d: %w", h.id, err))
			return time.Since(t0).Seconds()
		}
	}
	secs := time.Since(t0).Seconds()
	r.flooded.Lock()
	r.flooded.from, r.flooded.to = t0, time.Now()
	r.flooded.Unlock()
	r.logf("session %d wrote %.0f MB in %.1f s", h.id, float64(r.cfg.FloodBytes)/1e6, secs)
	r.steady(ctx, h)
	return secs
}

// churn joins a guest to a random session ChurnRate times a second; each
// stays until its screen shows the session, then leaves.
func (r *run) churn(ctx context.Context, sessions []*session, joins *atomic.Int64) {
	var live []*session
	for _, s := range sessions {
		if s.ok {
			live = append(live, s)
		}
	}
	if len(live) == 0 {
		return
	}
	t := time.NewTicker(time.Duration(float64(time.Second) / r.cfg.ChurnRate))
	defer t.Stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s := live[rand.N(len(live))]
		wg.Go(func() {
			g, err := r.join(ctx, s.h, false)
			if err != nil {
				if ctx.Err() == nil {
					r.fail(fmt.Errorf("churn: %w", err))
				}
				return
			}
			joins.Add(1)
			g.conn.close()
		})
	}
}

// restart stops the relay with SIGTERM a quarter into the run, starts it
// again with RestartCmd, and times until every host is back. It returns
// the stopped process's CPU seconds.
func (r *run) restart(ctx context.Context, sessions []*session) (cpu, reconnectAll float64, err error) {
	select {
	case <-ctx.Done():
		return 0, 0, nil
	case <-time.After(r.cfg.Duration / 4):
	}
	pid := r.relayPID()
	if st, err := readProc(pid); err == nil {
		cpu = st.CPU
	}
	r.restarting.Store(true)
	defer r.restarting.Store(false)
	before := make([]int, len(sessions))
	for i, s := range sessions {
		before[i] = s.h.connections()
	}
	t0 := time.Now()
	r.outage.Lock()
	r.outage.from = t0.Add(-time.Second)
	r.outage.Unlock()
	r.logf("SIGTERM to relay %d", pid)
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return cpu, 0, fmt.Errorf("stopping the relay: %w", err)
	}
	for syscall.Kill(pid, 0) == nil {
		if time.Since(t0) > 30*time.Second {
			return cpu, 0, fmt.Errorf("relay %d still running 30 s after SIGTERM", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.logf("relay %d exited after %.1f s", pid, time.Since(t0).Seconds())
	cmd := exec.Command("sh", "-c", "exec "+r.cfg.RestartCmd)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return cpu, 0, fmt.Errorf("starting the relay again: %w", err)
	}
	go cmd.Wait()
	r.mu.Lock()
	r.cfg.RelayPID = cmd.Process.Pid
	r.mu.Unlock()
	r.logf("relay started again as %d", cmd.Process.Pid)
	for {
		all := true
		for i, s := range sessions {
			if s.ok && s.h.connections() == before[i] {
				all = false
				break
			}
		}
		if all {
			break
		}
		if time.Since(t0) > 2*time.Minute {
			return cpu, 0, errors.New("not every host was back within 2 minutes of the restart")
		}
		select {
		case <-ctx.Done():
			return cpu, 0, errors.New("the run ended before every host was back")
		case <-time.After(50 * time.Millisecond):
		}
	}
	reconnectAll = time.Since(t0).Seconds()
	r.logf("every host back after %.1f s", reconnectAll)
	for {
		down := 0
		for _, s := range sessions {
			for _, g := range s.guests {
				if g.down.Load() {
					down++
				}
			}
		}
		if down == 0 {
			break
		}
		if time.Since(t0) > 2*time.Minute {
			return cpu, reconnectAll, fmt.Errorf("%d guests not back within 2 minutes of the restart", down)
		}
		select {
		case <-ctx.Done():
			return cpu, reconnectAll, errors.New("the run ended before every guest was back")
		case <-time.After(50 * time.Millisecond):
		}
	}
	r.logf("every guest back after %.1f s", time.Since(t0).Seconds())
	r.outage.Lock()
	r.outage.to = time.Now()
	r.outage.Unlock()
	return cpu, reconnectAll, nil
}

func (r *run) relayPID() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cfg.RelayPID
}

// missed lists the markers a guest should have shown and did not; those
// written while the relay restarted are excused.
func (r *run) missed(s *screen) []int {
	r.outage.Lock()
	from, to := r.outage.from, r.outage.to
	r.outage.Unlock()
	var out []int
	sent := s.h.markers()
	for _, seq := range s.missed() {
		if at := sent[seq]; !from.IsZero() && !at.Before(from) && (to.IsZero() || at.Before(to)) {
			continue
		}
		out = append(out, seq)
	}
	return out
}

func head(s []int, n int) []int { return s[:min(n, len(s))] }

// percentile of sorted samples, in milliseconds.
func percentile(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.999999) - 1
	i = max(0, min(i, len(sorted)-1))
	return float64(sorted[i]) / float64(time.Millisecond)
}

// parallel runs f(0..n-1), at most k at a time.
func parallel(k, n int, f func(i int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(k, n) {
		wg.Go(func() {
			for i := range next {
				f(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// loopback reports whether addr's host is a loopback address, so that
// connections can come from any 127.x.y.z.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback() && ip.To4() != nil
}

// sourceIP is session i's own address in 127.0.0.0/8, so that the relay's
// per-address limits see each session as a separate machine.
func sourceIP(i int) net.IP {
	n := i + 1
	return net.IPv4(127, byte(1+n>>16), byte(n>>8), byte(n))
}

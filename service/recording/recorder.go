package recording

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"tmate-relay/service/audit"
	"tmate-relay/service/guest"
	"tmate-relay/service/metrics"
	"tmate-relay/service/session"
)

// Config is the relay's [recording] as the recorder uses it.
type Config struct {
	Dir         string
	MaxBytes    int64 // per recording; 0: no limit
	RecordInput bool  // keys of read-write guests become "i" events
	Log         *slog.Logger
	Metrics     *metrics.Metrics // counts recordings stopped early (nil: none)
	Audit       *audit.Trail     // records them (nil: none)
}

// Recorder records sessions into files in its directory
// (session.Recorder).
type Recorder struct {
	cfg  Config
	mu   sync.Mutex
	live map[*recording]struct{}
	wg   sync.WaitGroup
	// newest is the newest recording of each session (its Session.ID),
	// read from the directory once, when a session first comes back after
	// a relay restart (after a restart they all do), and kept up to date.
	newest map[string]meta
}

// New returns a recorder for cfg.
func New(cfg Config) *Recorder {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Recorder{cfg: cfg, live: map[*recording]struct{}{}}
}

// recording is one session being recorded: its observer, drawn by a
// renderer as a guest's terminal would be, into its file.
type recording struct {
	r  *Recorder
	s  *session.Session
	g  *session.Guest
	id string

	mu   sync.Mutex // f, stop
	f    *file      // nil once stopped
	quit chan struct{}
}

// Record starts recording s (session.Recorder). The file is created now:
// an error means the session is not recorded.
func (r *Recorder) Record(s *session.Session, restarted bool) error {
	info := s.Info()
	name := info.Name
	if name == "0" { // tmux's name for an unnamed first session
		name = ""
	}
	h := header{
		Title: "tmate session " + clean(info.HostAddr),
		Env:   map[string]string{"TERM": "xterm-256color"},
		Relay: meta{SessionID: s.ID(), SessionName: clean(name), Host: clean(info.HostAddr)},
	}
	if name != "" {
		h.Title = "tmate session " + clean(name)
	}
	h.Title = clean(h.Title)
	if restarted {
		h.Relay.Previous = r.previous(s.ID())
	}
	rec := &recording{r: r, s: s, quit: make(chan struct{})}
	var frame guest.Frame
	rec.g = s.Observe(rec)
	s.Compose(rec.g, &frame)
	h.Width, h.Height = frame.W, frame.H
	if h.Width <= 0 || h.Height <= 0 {
		h.Width, h.Height = 80, 24
	}
	f, err := create(r.cfg.Dir, h, time.Now(), r.cfg.MaxBytes)
	if err != nil {
		s.Unobserve(rec.g)
		r.failed(s, stopReason(err), err)
		return err
	}
	// The observer is told of guests from their goroutines already.
	rec.mu.Lock()
	rec.f, rec.id = f, f.hdr.Relay.ID
	rec.mu.Unlock()
	r.mu.Lock()
	if r.newest != nil {
		r.newest[s.ID()] = f.hdr.Relay
	}
	r.mu.Unlock()
	if restarted {
		rec.Mark("relay restarted")
	}
	r.mu.Lock()
	r.live[rec] = struct{}{}
	r.wg.Add(1)
	r.mu.Unlock()
	r.cfg.Log.Info("recording session", "session", s.ID(), "recording", f.hdr.Relay.ID)
	go rec.run(frame.W, frame.H)
	return nil
}

// Close stops every recording (the relay is stopping): each file says so
// and is synced to disk.
func (r *Recorder) Close() {
	r.mu.Lock()
	live := make([]*recording, 0, len(r.live))
	for rec := range r.live {
		live = append(live, rec)
	}
	r.mu.Unlock()
	for _, rec := range live {
		rec.Mark("relay stopped")
		rec.stop("", "")
	}
	r.wg.Wait()
}

// run draws the session into the file whenever it changed, until the
// session ends or the recording stops.
func (rec *recording) run(w, h int) {
	defer rec.r.wg.Done()
	defer func() {
		// A panic here ends the session, as in any of its parts; the file
		// is completed first.
		if r := recover(); r != nil {
			rec.stop("relay error", "")
			rec.s.Crash("recording", r)
		}
	}()
	var (
		frame    guest.Frame
		renderer guest.Renderer
		buf      []byte
	)
	for {
		select {
		case <-rec.g.Changed():
		case <-rec.s.Done():
			rec.Mark("session ended: " + rec.s.EndReason())
			rec.stop("", "")
			return
		case <-rec.quit:
			return
		}
		rec.s.Compose(rec.g, &frame)
		if frame.W <= 0 || frame.H <= 0 {
			continue
		}
		maskTokens(&frame, []string{rec.s.Token(), rec.s.ReadOnlyToken()})
		now := time.Now()
		switch {
		case w <= 0 || h <= 0:
			// The session had no size when recording began: the header
			// takes its first, as no frame was written yet.
			w, h = frame.W, frame.H
			rec.sizeHeader(w, h)
		case frame.W != w || frame.H != h:
			w, h = frame.W, frame.H
			size := fmt.Sprintf("%dx%d", w, h)
			rec.write(now, "r", size)
			rec.write(now, "m", "resize "+size)
		}
		buf = renderer.Render(buf[:0], &frame)
		if len(buf) > 0 {
			rec.write(now, "o", string(buf))
		}
	}
}

// sizeHeader sets the size in the header.
func (rec *recording) sizeHeader(w, h int) {
	rec.mu.Lock()
	if rec.f == nil {
		rec.mu.Unlock()
		return
	}
	rec.f.hdr.Width, rec.f.hdr.Height = w, h
	err := rec.f.writeHeader()
	rec.mu.Unlock()
	if err != nil {
		rec.stop(stopReason(err), metrics.RecordingWriteError)
	}
}

// Mark writes a marker (session.Observer); a guest joining is counted in
// the header.
func (rec *recording) Mark(label string) {
	rec.mu.Lock()
	if rec.f != nil && strings.HasPrefix(label, "guest joined:") {
		rec.f.hdr.Relay.Guests++
		if err := rec.f.writeHeader(); err != nil {
			rec.mu.Unlock()
			rec.stop(stopReason(err), metrics.RecordingWriteError)
			return
		}
	}
	rec.mu.Unlock()
	rec.write(time.Now(), "m", label)
}

// Input writes what a read-write guest typed, when the relay records input
// (session.Observer).
func (rec *recording) Input(p []byte) {
	if rec.r.cfg.RecordInput {
		rec.write(time.Now(), "i", string(p))
	}
}

// Stop ends the recording early (session.Observer).
func (rec *recording) Stop(why string) {
	rec.Mark("recording stopped: " + why)
	rec.stop(why, "")
}

// write appends an event; the limit or a failure stops the recording.
func (rec *recording) write(at time.Time, code, data string) {
	rec.mu.Lock()
	if rec.f == nil {
		rec.mu.Unlock()
		return
	}
	err := rec.f.event(at, code, data)
	rec.mu.Unlock()
	switch {
	case errors.Is(err, errLimit):
		rec.stop(errLimit.Error(), metrics.RecordingMaxBytes)
	case err != nil:
		rec.stop(stopReason(err), metrics.RecordingWriteError)
	}
}

// stop ends the recording: why is "" when the session ended (or the
// relay stopped), else why it stopped early, counted under reason (a
// metrics.Recording* reason, or "" for none).
func (rec *recording) stop(why, reason string) {
	rec.mu.Lock()
	f := rec.f
	rec.f = nil
	rec.mu.Unlock()
	if f == nil {
		return
	}
	rec.s.Unobserve(rec.g)
	close(rec.quit)
	rec.r.mu.Lock()
	delete(rec.r.live, rec)
	rec.r.mu.Unlock()
	now := time.Now()
	if reason == metrics.RecordingMaxBytes {
		f.note(now, why)
	}
	err := f.close(now, why)
	if why != "" {
		rec.r.failed(rec.s, why, nil)
	}
	if reason != "" {
		rec.r.cfg.Metrics.RecordingStopped(reason)
	}
	if err != nil {
		rec.r.cfg.Log.Warn("recording could not be completed", "session", rec.s.ID(), "recording", f.hdr.Relay.ID, "err", err)
	}
}

// failed logs and audits a recording that stopped, or could not start,
// while its session goes on.
func (r *Recorder) failed(s *session.Session, why string, err error) {
	if err != nil {
		r.cfg.Metrics.RecordingStopped(metrics.RecordingWriteError)
	}
	r.cfg.Log.Warn("recording stopped; the session goes on unrecorded", "session", s.ID(), "why", why, "err", err)
	if r.cfg.Audit != nil {
		e := s.AuditEvent(audit.RecordingStopped)
		e.Why = why
		r.cfg.Audit.Emit(e)
	}
}

// previous is the ID of the newest recording of the session id, "" if
// none: the part before a relay restart.
func (r *Recorder) previous(id string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.newest == nil {
		r.newest = newestBySession(r.cfg.Dir)
	}
	return r.newest[id].ID
}

// newestBySession reads the headers in dir: the newest recording of each
// session.
func newestBySession(dir string) map[string]meta {
	newest := map[string]meta{}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		rid, ok := strings.CutSuffix(e.Name(), Ext)
		if !ok || !ValidID(rid) {
			continue
		}
		h, err := readHeader(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		if best, ok := newest[h.Relay.SessionID]; !ok || h.Relay.Start.After(best.Start) {
			newest[h.Relay.SessionID] = h.Relay
		}
	}
	return newest
}

// readHeader reads the header of the recording file path.
func readHeader(path string) (header, error) {
	f, err := os.Open(path)
	if err != nil {
		return header{}, err
	}
	defer f.Close()
	line := make([]byte, headerLen)
	if _, err := io.ReadFull(f, line); err != nil {
		return header{}, fmt.Errorf("%s: header: %w", path, err)
	}
	h, err := decodeHeader(line)
	if err != nil {
		return h, fmt.Errorf("%s: %w", path, err)
	}
	return h, nil
}

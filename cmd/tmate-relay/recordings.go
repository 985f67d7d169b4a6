package main

import (
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"text/tabwriter"
	"time"

	"tmate-relay/service/audit"
	"tmate-relay/service/config"
	"tmate-relay/service/metrics"
	"tmate-relay/service/recording"
	"tmate-relay/service/session"
)

// The recordings commands read [recording] dir directly: the
// administrator runs them as root or as the relay's user.

func runRecordings(args []string) error {
	c := newCommandLine("recordings", "usage: tmate-relay recordings [-c FILE] [--json]\n\nList the session recordings, newest first.", "", os.Stderr)
	asJSON := c.fs.Bool("json", false, "print JSON")
	cfg, err := c.load(args)
	if cfg == nil {
		return err
	}
	list, listErr := recording.List(cfg.Recording.Dir)
	if *asJSON {
		out := make([]recordingJSON, 0, len(list))
		for _, in := range list {
			out = append(out, newRecordingJSON(in))
		}
		if err := printJSON(os.Stdout, out); err != nil {
			return err
		}
		return listErr
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tSESSION\tHOST\tSTART\tEND\tSIZE\tGUESTS\tNOTE")
	for _, in := range list {
		end := "recording"
		if !in.End.IsZero() {
			end = in.End.Local().Format(time.DateTime)
		}
		note := in.Stopped
		if in.Previous != "" {
			note = joinNote(note, "continues "+in.Previous)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\n", in.ID, dash(in.SessionName), dash(in.Host),
			in.Start.Local().Format(time.DateTime), end, in.Size, in.Guests, dash(note))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return listErr
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// recordingJSON is one recording in `recordings --json`.
type recordingJSON struct {
	ID          string     `json:"id"`
	SessionName string     `json:"session_name"`
	Host        string     `json:"host"`
	Start       time.Time  `json:"start"`
	End         *time.Time `json:"end"` // null while recording
	Size        int64      `json:"size"`
	Guests      int        `json:"guests"`
	Previous    string     `json:"previous,omitempty"`
	Stopped     string     `json:"stopped,omitempty"`
}

func newRecordingJSON(in recording.Info) recordingJSON {
	r := recordingJSON{ID: in.ID, SessionName: in.SessionName, Host: in.Host, Start: in.Start, Size: in.Size,
		Guests: in.Guests, Previous: in.Previous, Stopped: in.Stopped}
	if !in.End.IsZero() {
		end := in.End
		r.End = &end
	}
	return r
}

func runPlay(args []string) error {
	c := newCommandLine("play", "usage: tmate-relay play [-c FILE] [--speed N] ID\n\nPlay recording ID (tmate-relay recordings lists them) in this terminal,\nwith the session's timing divided by N.", "", os.Stderr)
	speed := c.fs.String("speed", "1", "play `N` times as fast")
	// The ID may come before or after the flags.
	var id string
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		id, args = args[0], args[1:]
	} else if n := len(args); n > 0 && len(args[n-1]) > 0 && args[n-1][0] != '-' && (n < 2 || !takesValue(args[n-2])) {
		id, args = args[n-1], args[:n-1]
	}
	cfg, err := c.load(args)
	if cfg == nil {
		return err
	}
	if id == "" {
		c.fs.Usage()
		return fmt.Errorf("want the ID of a recording")
	}
	n, err := strconv.ParseFloat(*speed, 64)
	if err != nil || n <= 0 || n > 1e6 {
		return fmt.Errorf("--speed %q is not a number more than 0", *speed)
	}
	path, err := recording.Path(cfg.Recording.Dir, id)
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return recording.Play(os.Stdout, f, n, nil)
}

// takesValue reports whether arg is a flag of play's that takes the next
// argument as its value.
func takesValue(arg string) bool {
	switch arg {
	case "-c", "--c", "-speed", "--speed":
		return true
	}
	return false
}

// retentionSweep is how often recordings past [recording] retention are
// deleted (also once at start).
const retentionSweep = time.Hour

// startRecorder makes the recorder [recording] asks for (nil when it is
// off) and its retention sweep; stop ends the sweep and the recordings
// still running.
func startRecorder(cfg *config.Config, m *metrics.Metrics, trail *audit.Trail, log *slog.Logger) (rec *recording.Recorder, stop func()) {
	rc := cfg.Recording
	if !rc.Enabled {
		return nil, func() {}
	}
	// A missing or unwritable directory stops recordings, never sessions:
	// each failed start is logged and counted.
	if err := os.MkdirAll(rc.Dir, 0o700); err != nil {
		log.Warn("recording directory cannot be made: sessions will not be recorded", "dir", rc.Dir, "err", err)
	}
	rec = recording.New(recording.Config{Dir: rc.Dir, MaxBytes: rc.MaxBytes, RecordInput: rc.RecordInput, Log: log, Metrics: m, Audit: trail})
	done := make(chan struct{})
	rec.KeepFor(rc.Retention, retentionSweep, done)
	log.Info("recording sessions", "dir", rc.Dir, "retention_days", rc.Retention, "max_bytes", rc.MaxBytes, "required", rc.Required)
	return rec, func() {
		close(done)
		rec.Close()
	}
}

// recordPolicy is what sessions are told of the recorder.
func recordPolicy(cfg *config.Config, rec *recording.Recorder) session.RecordPolicy {
	if rec == nil {
		return session.RecordPolicy{}
	}
	return session.RecordPolicy{Recorder: rec, Required: cfg.Recording.Required}
}

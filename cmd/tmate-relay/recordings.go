package main

import (
	"fmt"
	"io"
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
	c, id, speed, err := parsePlay(args, os.Stderr)
	if c == nil {
		return helpOnly(err)
	}
	cfg, err := c.load(nil)
	if cfg == nil {
		return err
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
	return recording.Play(os.Stdout, f, speed, nil)
}

// parsePlay reads play's flags and its one argument, the recording's ID,
// before or after the flags. A nil commandLine comes with the error.
func parsePlay(args []string, stderr io.Writer) (c *commandLine, id string, speed float64, err error) {
	c = newCommandLine("play", "usage: tmate-relay play [-c FILE] [--speed N] ID\n\nPlay recording ID (tmate-relay recordings lists them) in this terminal,\nwith the session's timing divided by N.", "", stderr)
	speedFlag := c.fs.String("speed", "1", "play `N` times as fast")
	var pos []string
	for {
		if err := c.fs.Parse(args); err != nil {
			return nil, "", 0, err
		}
		args = c.fs.Args()
		if len(args) == 0 {
			break
		}
		pos, args = append(pos, args[0]), args[1:]
	}
	if len(pos) != 1 {
		c.fs.Usage()
		return nil, "", 0, fmt.Errorf("want the ID of one recording, got %d arguments", len(pos))
	}
	speed, err = strconv.ParseFloat(*speedFlag, 64)
	if err != nil || speed <= 0 || speed > 1e6 {
		return nil, "", 0, fmt.Errorf("--speed %q is not a number more than 0", *speedFlag)
	}
	return c, pos[0], speed, nil
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
	if n, err := recording.CloseUnfinished(rc.Dir); n > 0 || err != nil {
		log.Warn("recordings a stopped relay left open are closed", "count", n, "err", err)
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

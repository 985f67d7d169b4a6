package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coreos/go-systemd/v22/journal"
)

// Formats of events on stderr.
const (
	FormatText = "text"
	FormatJSON = "json"
)

// Formats lists the accepted stderr formats.
var Formats = []string{FormatText, FormatJSON}

// Options say where a Trail's events go.
type Options struct {
	// Journal sends events to the systemd journal, each field a journal
	// field; otherwise they go to Stderr (nil: none) in Format.
	Journal bool
	Stderr  io.Writer
	Format  string // FormatText (also for "") or FormatJSON
	// File, when set, gets every event as one JSON line, appended and
	// synced to disk; Reopen opens it again (after a rotation).
	File string
	// Log is where the trail's own failures go (nil: slog.Default()).
	Log *slog.Logger
}

// UnderJournal reports whether the relay's stderr is the systemd journal
// (it runs as a systemd service): its events then go to the journal.
func UnderJournal() bool {
	ok, err := journal.StderrIsJournalStream()
	return err == nil && ok && journal.Enabled()
}

// queueLen bounds the events waiting to be written. Emit never waits for
// a write: a slow disk or journal delays the trail, not the sessions.
const queueLen = 4096

// fullWait is how long Emit waits for room when the queue is full before
// it drops the event (and the trail says how many it dropped).
const fullWait = 100 * time.Millisecond

// Trail writes audit events to its sinks, in order, from one goroutine.
// A nil *Trail records nothing.
type Trail struct {
	opts    Options
	log     *slog.Logger
	stderr  *slog.Logger // nil: none
	journal bool

	mu      sync.RWMutex // closed, and sends on queue against its close
	closed  bool
	queue   chan item
	dropped atomic.Int64
	done    chan struct{}

	// Only the writer goroutine touches these.
	file        *os.File
	fileFailing bool
	jrnFailing  bool
	line        bytes.Buffer
}

// item is what the writer does next: write an event, answer a flush, or
// reopen the file.
type item struct {
	ev     *Event
	flush  chan struct{}
	reopen chan error
}

// New starts a trail. With Options.File set, the file is opened (created
// with mode 0640 if missing) for appending; an error says which file and
// why.
func New(opts Options) (*Trail, error) {
	t := &Trail{opts: opts, log: opts.Log, journal: opts.Journal, queue: make(chan item, queueLen), done: make(chan struct{})}
	if t.log == nil {
		t.log = slog.Default()
	}
	if !opts.Journal && opts.Stderr != nil {
		switch opts.Format {
		case FormatText, "":
			t.stderr = slog.New(slog.NewTextHandler(opts.Stderr, nil))
		case FormatJSON:
			t.stderr = slog.New(slog.NewJSONHandler(opts.Stderr, nil))
		default:
			return nil, fmt.Errorf("audit format %q is not one of text, json", opts.Format)
		}
	}
	if opts.File != "" {
		f, err := openFile(opts.File)
		if err != nil {
			return nil, err
		}
		t.file = f
	}
	go t.write()
	return t, nil
}

func openFile(path string) (*os.File, error) {
	// The PathError says which file and why: "open PATH: permission denied".
	return os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
}

// Emit records e (its Time set to now when zero). It does not wait for the
// write; when the trail is far behind it waits up to fullWait, then drops
// e and counts it.
func (t *Trail) Emit(e Event) {
	if t == nil {
		return
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.closed {
		return
	}
	select {
	case t.queue <- item{ev: &e}:
		return
	default:
	}
	timer := time.NewTimer(fullWait)
	defer timer.Stop()
	select {
	case t.queue <- item{ev: &e}:
	case <-timer.C:
		t.dropped.Add(1)
	}
}

// Flush returns once every event emitted before it is written.
func (t *Trail) Flush() {
	if t == nil {
		return
	}
	done := make(chan struct{})
	if t.send(item{flush: done}) {
		<-done
	}
}

// Reopen opens the file again at its path, as after logrotate renamed it,
// once the events before it are written; the old file is closed only when
// the new one is open. Without a file it does nothing.
func (t *Trail) Reopen() error {
	if t == nil || t.opts.File == "" {
		return nil
	}
	res := make(chan error, 1)
	if !t.send(item{reopen: res}) {
		return errors.New("audit trail closed")
	}
	return <-res
}

// send queues it unless the trail is closed; it reports whether it did.
func (t *Trail) send(it item) bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.closed {
		return false
	}
	t.queue <- it
	return true
}

// Close writes what is queued, then closes the file; later events are
// not recorded.
func (t *Trail) Close() error {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	close(t.queue)
	t.mu.Unlock()
	<-t.done
	if t.file != nil {
		return t.file.Close()
	}
	return nil
}

// write is the trail's one writer.
func (t *Trail) write() {
	defer close(t.done)
	for it := range t.queue {
		switch {
		case it.ev != nil:
			t.writeEvent(it.ev)
		case it.flush != nil:
			close(it.flush)
		case it.reopen != nil:
			it.reopen <- t.reopenFile()
		}
		if n := t.dropped.Swap(0); n > 0 {
			t.log.Error("audit trail: events dropped, the trail could not keep up", "dropped", n)
		}
	}
}

func (t *Trail) writeEvent(e *Event) {
	fields := e.Fields()
	msg := e.Message()
	level := slog.LevelInfo
	if e.Result == "refused" {
		level = slog.LevelWarn
	}
	if t.journal {
		t.sendJournal(e, fields, msg, level)
	}
	if t.stderr != nil {
		attrs := make([]slog.Attr, 0, len(fields))
		for _, f := range fields {
			if f.Number {
				attrs = append(attrs, slog.Any(f.Name, json.Number(f.Value)))
			} else {
				attrs = append(attrs, slog.String(f.Name, f.Value))
			}
		}
		r := slog.NewRecord(e.Time, level, msg, 0)
		r.AddAttrs(attrs...)
		t.stderr.Handler().Handle(context.Background(), r)
	}
	if t.file != nil {
		t.writeFile(e, fields)
	}
}

func (t *Trail) sendJournal(e *Event, fields []Field, msg string, level slog.Level) {
	vars := make(map[string]string, len(fields)+2)
	for _, f := range fields {
		vars[f.JournalName()] = f.Value
	}
	vars["SYSLOG_IDENTIFIER"] = "tmate-relay"
	vars["TMATE_TIME"] = e.Time.UTC().Format(time.RFC3339Nano)
	pri := journal.PriInfo
	if level >= slog.LevelWarn {
		pri = journal.PriWarning
	}
	err := journal.Send(msg, pri, vars)
	t.jrnFailing = t.failed("journal", err, t.jrnFailing)
}

// writeFile appends e as one JSON line and syncs it to disk.
func (t *Trail) writeFile(e *Event, fields []Field) {
	b := &t.line
	b.Reset()
	b.WriteString(`{"time":`)
	writeJSON(b, e.Time.UTC().Format(time.RFC3339Nano))
	for _, f := range fields {
		b.WriteByte(',')
		writeJSON(b, f.Name)
		b.WriteByte(':')
		if f.Number {
			b.WriteString(f.Value)
		} else {
			writeJSON(b, f.Value)
		}
	}
	b.WriteString("}\n")
	_, err := t.file.Write(b.Bytes())
	if err == nil {
		err = t.file.Sync()
	}
	t.fileFailing = t.failed("file "+t.opts.File, err, t.fileFailing)
}

func writeJSON(b *bytes.Buffer, s string) {
	q, _ := json.Marshal(s) // a string always marshals
	b.Write(q)
}

// failed logs a sink's failure when it starts and its recovery when it
// ends, not every failed event; it returns whether the sink is failing.
func (t *Trail) failed(sink string, err error, failing bool) bool {
	switch {
	case err != nil && !failing:
		t.log.Error("audit trail: cannot write to the "+sink+": events are missing from it until it works again", "err", err)
	case err == nil && failing:
		t.log.Info("audit trail: writing to the " + sink + " again")
	}
	return err != nil
}

func (t *Trail) reopenFile() error {
	f, err := openFile(t.opts.File)
	if err != nil {
		t.log.Error("audit trail: cannot reopen the file: events still go to the old one", "err", err)
		return err
	}
	if t.file != nil {
		t.file.Close()
	}
	t.file = f
	t.fileFailing = false
	return nil
}

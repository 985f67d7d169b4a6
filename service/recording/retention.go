package recording

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Sweep deletes the recordings in dir last written before cutoff, except
// those being written now (live IDs), and returns the IDs it deleted.
// Other files in dir are left alone. Failures are joined in the error; the
// sweep goes on past them.
func Sweep(dir string, cutoff time.Time, live func(id string) bool) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("recordings: %w", err)
	}
	var (
		gone []string
		errs []error
	)
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), Ext)
		if !ok || !ValidID(id) || !e.Type().IsRegular() || (live != nil && live(id)) {
			continue
		}
		fi, err := e.Info()
		if err != nil || !fi.ModTime().Before(cutoff) {
			continue // gone meanwhile, or recent
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		gone = append(gone, id)
	}
	return gone, errors.Join(errs...)
}

// Live reports whether the recording id is being written by r now.
func (r *Recorder) Live(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for rec := range r.live {
		if rec.id == id {
			return true
		}
	}
	return false
}

// KeepFor deletes recordings older than days (by their last write) now and
// every interval until stop is closed; 0 days keeps them for ever.
func (r *Recorder) KeepFor(days int, interval time.Duration, stop <-chan struct{}) {
	if days <= 0 {
		return
	}
	sweep := func() {
		gone, err := Sweep(r.cfg.Dir, time.Now().AddDate(0, 0, -days), r.Live)
		if len(gone) > 0 {
			r.cfg.Log.Info("recordings past their retention deleted", "count", len(gone), "retention_days", days)
		}
		if err != nil {
			r.cfg.Log.Warn("recordings past their retention could not all be deleted", "err", err)
		}
	}
	sweep()
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				sweep()
			case <-stop:
				return
			}
		}
	}()
}

// Unfinished is what the header of a recording says when the relay that
// wrote it stopped without closing it (killed, or the machine went down).
const Unfinished = "relay stopped unexpectedly"

// CloseUnfinished completes the recordings in dir that a relay left open:
// each gets its last write as its end, and Unfinished as why it stopped.
// A file a relay was killed while naming (create's ID.cast.new, a header
// and nothing else) is removed. The relay calls it as it starts, before
// it records anything (a directory is one relay's). It returns how many
// it closed.
func CloseUnfinished(dir string) (int, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("recordings: %w", err)
	}
	var (
		n    int
		errs []error
	)
	for _, e := range entries {
		if id, ok := strings.CutSuffix(e.Name(), Ext+".new"); ok && ValidID(id) && e.Type().IsRegular() {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
			continue
		}
		id, ok := strings.CutSuffix(e.Name(), Ext)
		if !ok || !ValidID(id) || !e.Type().IsRegular() {
			continue
		}
		p := filepath.Join(dir, e.Name())
		h, err := readHeader(p)
		if err != nil || h.Relay.End != nil {
			continue // not ours to fix, or complete
		}
		fi, err := os.Stat(p)
		if err != nil {
			continue
		}
		end := fi.ModTime()
		h.Relay.End, h.Relay.Stopped = &end, Unfinished
		if err := rewriteHeader(p, h); err != nil {
			errs = append(errs, err)
			continue
		}
		os.Chtimes(p, end, end) // retention counts from the last write
		n++
	}
	return n, errors.Join(errs...)
}

// rewriteHeader writes h over the header of the file at path.
func rewriteHeader(path string, h header) error {
	line, err := encodeHeader(h)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteAt(line, 0)
	if e := f.Sync(); err == nil {
		err = e
	}
	if e := f.Close(); err == nil {
		err = e
	}
	return err
}

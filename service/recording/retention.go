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

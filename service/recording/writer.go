package recording

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// errLimit is an event that would take the file past its max_bytes.
var errLimit = errors.New("max_bytes reached")

// noteReserve is room kept below max_bytes for the note and marker that
// say the recording stopped there, so a file never exceeds max_bytes.
const noteReserve = 512

// MinMaxBytes is the smallest max_bytes: the header and the final note.
const MinMaxBytes = headerLen + noteReserve + 1024

// file is one recording being written: the header, then one line per
// event, each written as it comes (nothing is held in memory). The header
// is rewritten in place as its facts change.
type file struct {
	f     *os.File
	path  string
	hdr   header
	start time.Time
	size  int64 // bytes in the file
	max   int64 // 0: no limit
	line  []byte
}

// newID returns a fresh recording ID for a recording starting at t.
func newID(t time.Time) string {
	var b [4]byte
	rand.Read(b[:])
	return t.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b[:])
}

// create starts a recording file in dir (0600; it fails rather than
// replace a file) with the header h, whose ID and Start it sets. The file
// gets its name once its header is written, so List never sees it
// without one.
func create(dir string, h header, start time.Time, maxBytes int64) (*file, error) {
	h.Version = 2
	h.Timestamp = start.Unix()
	h.Relay.Start = start
	for range 3 {
		h.Relay.ID = newID(start)
		p := filepath.Join(dir, h.Relay.ID+Ext)
		if _, err := os.Lstat(p); err == nil {
			continue
		}
		tmp := p + ".new"
		f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		w := &file{f: f, path: p, hdr: h, start: start, max: maxBytes}
		line, err := encodeHeader(h)
		if err == nil {
			_, err = f.Write(line)
		}
		if err == nil {
			err = os.Rename(tmp, p)
		}
		if err != nil {
			f.Close()
			os.Remove(tmp)
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		w.size = int64(len(line))
		return w, nil
	}
	return nil, fmt.Errorf("%s: no free recording ID", dir)
}

// event appends one event line: [seconds, code, data]. It returns errLimit,
// writing nothing, when the line would take the file past max_bytes.
func (w *file) event(at time.Time, code, data string) error {
	b := w.line[:0]
	b = append(b, '[')
	b = strconv.AppendFloat(b, max(at.Sub(w.start).Seconds(), 0), 'f', 6, 64)
	b = append(b, ", \""...)
	b = append(b, code...)
	b = append(b, "\", "...)
	q, _ := json.Marshal(data) // a string always marshals; bad UTF-8 becomes U+FFFD
	b = append(b, q...)
	b = append(b, "]\n"...)
	w.line = b
	if w.max > 0 && w.size+int64(len(b))+noteReserve > w.max {
		return errLimit
	}
	return w.write(b)
}

// note appends the events that say why the recording stopped; they use
// the room kept by noteReserve.
func (w *file) note(at time.Time, why string) error {
	w.max = 0
	if err := w.event(at, "o", "\r\n\x1b[m[The relay stopped recording here: "+why+". The session went on.]\r\n"); err != nil {
		return err
	}
	return w.event(at, "m", "recording stopped: "+why)
}

func (w *file) write(b []byte) error {
	n, err := w.f.Write(b)
	w.size += int64(n)
	return err
}

// writeHeader rewrites the header in place: the same length, over bytes
// already on disk, so it works on a full disk too.
func (w *file) writeHeader() error {
	line, err := encodeHeader(w.hdr)
	if err != nil {
		return err
	}
	_, err = w.f.WriteAt(line, 0)
	return err
}

// close records the end (and why the recording stopped early, if it
// did), syncs the file to disk and closes it.
func (w *file) close(at time.Time, stopped string) error {
	w.hdr.Relay.End = &at
	w.hdr.Relay.Stopped = stopped
	err := w.writeHeader()
	if e := w.f.Sync(); err == nil {
		err = e
	}
	if e := w.f.Close(); err == nil {
		err = e
	}
	return err
}

// stopReason names a write failure for the header and the log.
func stopReason(err error) string {
	switch {
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return "disk full"
	case errors.Is(err, syscall.EFBIG):
		return "file size limit reached"
	}
	return "write failed: " + err.Error()
}

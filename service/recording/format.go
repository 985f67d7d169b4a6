// Package recording writes what the guests of a session saw as asciicast v2
// files and reads them back: one file per recorded session, <dir>/<ID>.cast.
//
// The first line is the asciicast v2 header. Besides the standard keys
// (version, width, height, timestamp, title, env) it carries the relay's own
// facts under "tmate_relay"; asciinema 2.2 and asciinema-player 3 ignore
// keys they do not know. The header line is padded with spaces to a fixed
// length (headerLen), so the relay can rewrite it in place as the session
// goes on (guests, end, why recording stopped) without moving the events
// that follow, even on a full disk. JSON allows the trailing spaces.
//
// The events are "o" (output, what a guest's terminal received), "m"
// (markers: guests joining and leaving, resizes, host reconnects, relay
// restarts, the recording stopping), "r" (resize, "COLSxROWS") and, with
// record_input, "i" (keys of read-write guests).
package recording

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// Ext is the file name extension of recordings.
const Ext = ".cast"

// headerLen is the length of the header line, newline included. Every
// header is padded to it; session names are cut (maxNameLen) so that a
// header always fits.
const headerLen = 2048

// maxNameLen bounds the session name, host and title kept in the header:
// with control characters replaced (clean) each byte takes at most two in
// JSON, so three of them fit in headerLen with room for the rest.
const maxNameLen = 200

// idPattern is the only shape of ID the relay writes: the start in UTC
// and 8 random hex digits. Nothing else is ever turned into a path.
var idPattern = regexp.MustCompile(`^[0-9]{8}-[0-9]{6}-[0-9a-f]{8}$`)

// ValidID reports whether id has the shape of a recording's ID.
func ValidID(id string) bool { return idPattern.MatchString(id) }

// header is the asciicast v2 header line.
type header struct {
	Version   int               `json:"version"`
	Width     int               `json:"width"`
	Height    int               `json:"height"`
	Timestamp int64             `json:"timestamp"`
	Title     string            `json:"title,omitempty"`
	Env       map[string]string `json:"env,omitempty"`
	Relay     meta              `json:"tmate_relay"`
}

// meta is the relay's part of the header.
type meta struct {
	ID          string     `json:"id"`
	SessionID   string     `json:"session_id"` // Session.ID: stable across relay restarts, not a secret
	SessionName string     `json:"session_name,omitempty"`
	Host        string     `json:"host"`
	Start       time.Time  `json:"start"`
	End         *time.Time `json:"end,omitempty"`
	Guests      int        `json:"guests"`
	Previous    string     `json:"previous,omitempty"`
	Stopped     string     `json:"stopped,omitempty"`
}

func (m meta) info(size int64) Info {
	in := Info{
		ID:          m.ID,
		SessionName: m.SessionName,
		Host:        m.Host,
		Start:       m.Start,
		Size:        size,
		Guests:      m.Guests,
		Previous:    m.Previous,
		Stopped:     m.Stopped,
	}
	if m.End != nil {
		in.End = *m.End
	}
	return in
}

// encodeHeader returns h as a header line of exactly headerLen bytes.
func encodeHeader(h header) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(h); err != nil {
		return nil, err
	}
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if len(b)+1 > headerLen {
		return nil, fmt.Errorf("recording header is %d bytes, more than the %d reserved", len(b)+1, headerLen)
	}
	line := make([]byte, headerLen)
	copy(line, b)
	for i := len(b); i < headerLen-1; i++ {
		line[i] = ' '
	}
	line[headerLen-1] = '\n'
	return line, nil
}

// decodeHeader reads a header line written by encodeHeader.
func decodeHeader(line []byte) (header, error) {
	var h header
	line = bytes.TrimRight(line, " \n")
	if err := json.Unmarshal(line, &h); err != nil {
		return h, fmt.Errorf("header: %w", err)
	}
	if h.Version != 2 {
		return h, fmt.Errorf("header: asciicast version %d, want 2", h.Version)
	}
	if !ValidID(h.Relay.ID) {
		return h, errors.New("header: no tmate_relay id")
	}
	return h, nil
}

// clean makes s fit a header: control characters and invalid UTF-8
// become "?" and it is cut to maxNameLen bytes on a character boundary.
func clean(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == utf8.RuneError {
			return '?'
		}
		return r
	}, s)
	n := maxNameLen
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xc0 == 0x80 {
		n--
	}
	return s[:n]
}

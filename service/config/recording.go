package config

import (
	"path/filepath"

	"github.com/BurntSushi/toml"
)

// Recording is the [recording] table: asciicast v2 files of what the
// guests of each session saw.
type Recording struct {
	// Enabled records every session whose host does not refuse.
	Enabled bool `toml:"enabled"`
	// Dir holds the recordings, one <ID>.cast each; relative to the
	// file's directory. The relay's user owns it, mode 0700.
	Dir string `toml:"dir"`
	// Retention is how many days a recording is kept (by its last
	// write); older ones are deleted at start and every hour. 0: kept
	// for ever.
	Retention int `toml:"retention"`
	// MaxBytes bounds one recording's file: at the limit the recording
	// stops, says so in the file, and the session goes on. 0: no limit.
	MaxBytes int64 `toml:"max_bytes"`
	// RecordInput also stores what read-write guests type.
	RecordInput bool `toml:"record_input"`
	// Required refuses a host that refuses recording (set -g
	// @tmate-relay-record off); otherwise its session runs unrecorded.
	Required bool `toml:"required"`
}

// Recording defaults.
const (
	DefaultRecordingDir       = "/var/lib/tmate-relay/recordings"
	DefaultRecordingRetention = 30        // days
	DefaultRecordingMaxBytes  = 100 << 20 // 100 MiB
	MinRecordingMaxBytes      = 16 << 10  // the header and the closing note fit, with room for frames
	MaxRecordingRetention     = 100 * 365 // days: a typo guard
)

func (v *validator) checkRecording(c *Config, md *toml.MetaData, dir string) {
	r := &c.Recording
	key := func(k string) []string { return []string{"recording", k} }
	if r.Dir == "" {
		r.Dir = DefaultRecordingDir
	} else if !filepath.IsAbs(r.Dir) {
		r.Dir = filepath.Join(dir, r.Dir)
	}
	switch {
	case !md.IsDefined("recording", "retention"):
		r.Retention = DefaultRecordingRetention
	case r.Retention < 0:
		v.add(key("retention"), "retention %d must not be negative (days; 0 keeps recordings for ever)", r.Retention)
	case r.Retention > MaxRecordingRetention:
		v.add(key("retention"), "retention %d is more than %d days", r.Retention, MaxRecordingRetention)
	}
	switch {
	case !md.IsDefined("recording", "max_bytes"):
		r.MaxBytes = DefaultRecordingMaxBytes
	case r.MaxBytes < 0:
		v.add(key("max_bytes"), "max_bytes %d must not be negative (0: no limit)", r.MaxBytes)
	case r.MaxBytes > 0 && r.MaxBytes < MinRecordingMaxBytes:
		v.add(key("max_bytes"), "max_bytes %d is less than %d", r.MaxBytes, MinRecordingMaxBytes)
	}
}

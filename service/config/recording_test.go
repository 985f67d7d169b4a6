package config

import (
	"strconv"
	"strings"
	"testing"
)

func TestRecordingErrorsNameTheLine(t *testing.T) {
	tests := []struct {
		name, doc string
		line      int
		want      string
	}{
		{"negative retention", "[recording]\nenabled = true\nretention = -1\n", 3, "retention -1 must not be negative"},
		{"huge retention", "[recording]\nretention = 99999999\n", 2, "more than"},
		{"negative max_bytes", "[recording]\n\nmax_bytes = -5\n", 3, "max_bytes -5 must not be negative"},
		{"tiny max_bytes", "[recording]\nmax_bytes = 100\n", 2, "max_bytes 100 is less than 16384"},
		{"enabled as string", "[recording]\nenabled = \"yes\"\n", 2, "recording.enabled has type string, want boolean"},
		{"unknown key", "[recording]\nkeep_days = 3\n", 2, `unknown key "keep_days" in [recording]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, tc.doc)
			_, err := Load(p)
			if err == nil {
				t.Fatal("accepted")
			}
			msg := err.Error()
			if prefix := p + ":" + strconv.Itoa(tc.line) + ": "; !strings.HasPrefix(msg, prefix) || !strings.Contains(msg, tc.want) {
				t.Errorf("error %q: want %q...%q", msg, prefix, tc.want)
			}
		})
	}
}

func TestRecordingDefaultsAndValues(t *testing.T) {
	c, err := Load(writeFile(t, "[recording]\nenabled = true\n"))
	if err != nil {
		t.Fatal(err)
	}
	r := c.Recording
	if !r.Enabled || r.Dir != DefaultRecordingDir || r.Retention != DefaultRecordingRetention || r.MaxBytes != DefaultRecordingMaxBytes || r.RecordInput || r.Required {
		t.Errorf("defaults: %+v", r)
	}
	p := writeFile(t, "[recording]\ndir = \"rec\"\nretention = 0\nmax_bytes = 0\nrecord_input = true\nrequired = true\n")
	c, err = Load(p)
	if err != nil {
		t.Fatal(err)
	}
	r = c.Recording
	if !strings.HasSuffix(r.Dir, "/rec") || !strings.HasPrefix(r.Dir, "/") || r.Retention != 0 || r.MaxBytes != 0 || !r.RecordInput || !r.Required {
		t.Errorf("values: %+v", r)
	}
}

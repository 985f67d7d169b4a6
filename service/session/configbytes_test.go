package session

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"tmate-relay/service/protocol"
)

// A host's tmux configuration, replicated as EXEC_CMDs, is kept within
// MaxConfigBytes, key bindings and options each, however many commands a
// host sends and however long: commands past it are left out, as tmux
// refusing them, and the session goes on.
func TestHostConfigurationIsBounded(t *testing.T) {
	const limit = 256 << 10
	long := strings.Repeat("x", 60<<10) // under a message, many times over the bound together
	for _, tc := range []struct {
		name  string
		argv  func(i int) []string
		bytes func(s *Session) int
	}{
		{"bindings in tables of any name", func(i int) []string {
			return []string{"bind-key", "-T", fmt.Sprintf("table%d", i), "x", "display-message", long}
		}, func(s *Session) int { return s.keys.Bytes() }},
		{"bindings of every key", func(i int) []string {
			return []string{"bind-key", "-T", "root", fmt.Sprintf("F%d", 1+i%12), "display-message", long + fmt.Sprint(i)}
		}, func(s *Session) int { return s.keys.Bytes() }},
		{"an option appended to", func(int) []string {
			return []string{"set-option", "-ga", "status-right", long}
		}, optionBytes},
		{"window options for any window", func(i int) []string {
			return []string{"set-window-option", "-t", fmt.Sprint(i), "window-status-format", long}
		}, optionBytes},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newTestSession(t, Config{MaxConfigBytes: limit})
			for i := range 200 { // 12 MB of commands
				if _, err := s.Apply(&protocol.ExecCmd{Argv: tc.argv(i)}); err != nil {
					t.Fatalf("command %d: %v", i, err)
				}
			}
			if got := tc.bytes(s); got > limit || got < limit/2 {
				t.Fatalf("the session keeps %d bytes of the host's configuration, want at most the %d allowed (and what fits)", got, limit)
			}
			if _, err := s.Apply(&protocol.PtyData{PaneID: 0, Data: []byte("still here")}); err != nil {
				t.Fatalf("the session stopped after the refused commands: %v", err)
			}
		})
	}
}

// optionBytes is what the session's options keep, counted afresh.
func optionBytes(s *Session) int {
	n := scopeBytes(s.opts.global) + scopeBytes(s.opts.session)
	for _, w := range s.opts.windows {
		n += scopeBytes(w) + windowScopeBytes
	}
	return n
}

// tmate's own configuration, the key tables and options a real tmate 2.4.0
// sends as it starts, takes a small part of the default bound, and all of
// it is kept.
func TestTmatesConfigurationFitsTheDefaultBound(t *testing.T) {
	f, err := os.Open("../loadtest/recorded/tmate-2.4.0-start.msgpack")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, _ := newTestSession(t, Config{})
	dec := protocol.NewDecoder(f, protocol.Limits{})
	cmds := 0
	for {
		m, err := dec.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if ex, ok := m.(*protocol.ExecCmd); ok {
			cmds++
			if _, err := s.Apply(ex); err != nil {
				t.Fatal(err)
			}
		}
	}
	keys, opts := s.keys.Bytes(), optionBytes(s)
	if opts != s.opts.bytes {
		t.Errorf("the options keep %d bytes, counted as %d", opts, s.opts.bytes)
	}
	t.Logf("%d commands: key tables %d bytes, options %d bytes", cmds, keys, opts)
	if cmds == 0 || keys > DefaultMaxConfigBytes/8 || opts > DefaultMaxConfigBytes/8 {
		t.Fatalf("%d commands took %d bytes of key tables and %d of options, want well under %d each", cmds, keys, opts, DefaultMaxConfigBytes)
	}
	if _, ok := s.keys.Lookup("prefix", 'c'); !ok {
		t.Fatal("tmate's binding of prefix c was left out")
	}
}

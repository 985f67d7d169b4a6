package session

import (
	"testing"

	"tmate-relay/service/protocol"
)

func TestExpandSession(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"#S", "work"},
		{"[#{session_name}]", "[work]"},
		{"##S", "##S"}, // a literal #S once expandPrompt reads ##
		{"#W #S", "#W work"},
		{"no formats", "no formats"},
	} {
		if got := expandSession(c.in, "work"); got != c.want {
			t.Errorf("%q: got %q, want %q", c.in, got, c.want)
		}
	}
}

func TestSessionNameFromRename(t *testing.T) {
	s, _ := newTestSession(t, Config{})
	g, err := s.Attach(false, "127.0.0.1", 80, 24)
	if err != nil {
		t.Fatal(err)
	}
	ro, err := s.Attach(true, "127.0.0.1", 80, 24)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		argv []string
		want string
	}{
		{nil, "0"}, // tmux's first session
		{[]string{"rename-session", "shared"}, "shared"},
		{[]string{"rename", "-t", "shared", "two words"}, "two words"},
		{[]string{"rename-session"}, "two words"},              // refused by tmux too
		{[]string{"rename-session", "-x", "bad"}, "two words"}, // unknown flag
		{[]string{"rename-window", "win"}, "two words"},
	} {
		if c.argv != nil {
			s.Exec(g, c.argv)
			s.Exec(ro, []string{"rename-session", "read-only guests rename nothing"})
		}
		if got := s.sessionName(); got != c.want {
			t.Errorf("after %q: #S is %q, want %q", c.argv, got, c.want)
		}
	}
}

func TestSessionNameFromStatus(t *testing.T) {
	s, _ := newTestSession(t, Config{})
	g, err := s.Attach(false, "127.0.0.1", 80, 24)
	if err != nil {
		t.Fatal(err)
	}
	s.Exec(g, []string{"rename-session", "by-guest"})
	for _, c := range []struct {
		msgs []protocol.HostMessage
		want string
	}{
		// tmate's default status-left shows the name the host's session has.
		{[]protocol.HostMessage{&protocol.Status{Left: "[renamed-on-host] ", Right: ""}}, "renamed-on-host"},
		{[]protocol.HostMessage{&protocol.Status{Left: "[a] b] ", Right: ""}}, "a] b"},
		// A custom status-left tells nothing: the guest's rename stands.
		{[]protocol.HostMessage{&protocol.ExecCmd{Argv: []string{"set-option", "-g", "status-left", "[#S] "}}}, "a] b"},
		{[]protocol.HostMessage{&protocol.ExecCmd{Argv: []string{"set-option", "-g", "status-left", "#S: "}},
			&protocol.Status{Left: "renamed: ", Right: ""}}, "by-guest"},
	} {
		apply(t, s, c.msgs...)
		s.mu.RLock()
		got := s.sessionName()
		s.mu.RUnlock()
		if got != c.want {
			t.Errorf("after %v: #S is %q, want %q", c.msgs, got, c.want)
		}
	}
}

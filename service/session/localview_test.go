package session

import (
	"testing"
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

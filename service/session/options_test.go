package session

import "testing"

func TestOptionsPrecedenceAndForms(t *testing.T) {
	o := newOptions()
	for _, argv := range [][]string{
		{"set-option", "-g", "status-style", "fg=white,bg=blue"},
		{"set", "-ga", "status-style", "bold"},
		{"set-option", "status-bg", "red"}, // session scope: "default" + bg
		{"setw", "-g", "window-status-format", "#I"},
		{"set-window-option", "-t", "2", "window-status-format", "#W"},
		{"set", "-wg", "window-status-separator", "|"},
		{"set", "-g", "status", "off"},
		{"set", "status"}, // toggles the session's value
		{"set", "-g", "status-position", "top"},
		{"set", "-g", "status-justify", "centre"},
		{"set", "-g", "status-left-length", "x"}, // rejected, as tmux does
		{"set", "-g", "display-time", "4000"},
		{"set", "-g", "mode-style", "fg=nonsense"}, // rejected
		{"set", "-go", "display-time", "1"},        // already set: kept
		{"set", "-g", "message-bg", "red"},         // global: over tmate's default
		{"set", "-g", "status-right-attr", "bright"},
	} {
		o.apply(argv, 1)
	}
	checks := []struct{ got, want string }{
		{o.global["status-style"], "fg=white,bg=blue,bold"},
		{o.sessionOpt("status-style"), "default,bg=red"},
		{o.windowOpt(1, "window-status-format"), "#I"},
		{o.windowOpt(2, "window-status-format"), "#W"},
		{o.windowOpt(2, "window-status-separator"), "|"},
		{o.sessionOpt("status"), "on"},
		{o.sessionOpt("status-position"), "top"},
		{o.sessionOpt("status-justify"), "centre"},
		{o.sessionOpt("status-left-length"), "10"},
		{o.sessionOpt("display-time"), "4000"},
		{o.windowOpt(0, "mode-style"), "bg=yellow,fg=black"},
		{o.sessionOpt("message-style"), "bg=yellow,fg=black,bg=red"},
		{o.sessionOpt("status-right-style"), "default,none,bright"},
	}
	for i, c := range checks {
		if c.got != c.want {
			t.Errorf("check %d: got %q, want %q", i, c.got, c.want)
		}
	}
	o.apply([]string{"set-window-option", "-u", "-t", "2", "window-status-format"}, 1)
	o.apply([]string{"set", "-u", "status-style"}, 1)
	if got := o.windowOpt(2, "window-status-format"); got != "#I" {
		t.Errorf("after -u the window reads the global value, got %q", got)
	}
	if got := o.sessionOpt("status-style"); got != "fg=white,bg=blue,bold" {
		t.Errorf("after -u the session reads the global value, got %q", got)
	}
}

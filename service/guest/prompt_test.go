package guest

import (
	"reflect"
	"strings"
	"testing"

	"tmate-relay/service/keys"
)

// expanding is a key table whose active window is named "editor".
type expanding struct{ *keys.Table }

func (expanding) ExpandFormat(s string) string { return strings.ReplaceAll(s, "#W", "editor") }

// feedAll types each string in turn and collects the actions.
func feedAll(in *Input, parts ...string) []Action {
	var out []Action
	for _, p := range parts {
		out = append(out, in.Feed([]byte(p))...)
		if in.Pending() {
			out = append(out, in.Flush()...)
		}
	}
	return out
}

func TestConfirmBeforeRunsLocally(t *testing.T) {
	tab := defaultTable(t)
	open := Action{Kind: ActPrompt, Prompt: Prompt{Text: "kill-pane #P? (y/n) "}}
	closed := Action{Kind: ActPrompt}
	for _, tc := range []struct {
		keys string
		want []Action
	}{
		{"\x02xy", []Action{open, closed, {Kind: ActExec, Argv: []string{"kill-pane"}}}},
		{"\x02xn", []Action{open, closed}},
		{"\x02x\r", []Action{open, closed}},
		{"\x02x\x1b", []Action{open, closed}},
		{"\x02xyy", []Action{open, closed, {Kind: ActExec, Argv: []string{"kill-pane"}}, pane('y')[0]}},
	} {
		got := feedAll(NewInput(tab, false), tc.keys)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q: got %+v, want %+v", tc.keys, got, tc.want)
		}
	}
	if got := feedAll(NewInput(tab, true), "\x02xy"); len(got) != 0 {
		t.Errorf("read-only guest: got %+v, want nothing", got)
	}
}

func TestCommandPrompt(t *testing.T) {
	tab := defaultTable(t)
	in := NewInput(tab, false)
	var last []Action
	for _, p := range []string{"\x02:", "new-windoX", "\x7f", "w -n 'a b'", "\r"} {
		last = feedAll(in, p)
	}
	want := []Action{{Kind: ActPrompt}, {Kind: ActExec, Argv: []string{"new-window", "-n", "a b"}}}
	if !reflect.DeepEqual(last, want) {
		t.Errorf("got %+v, want %+v", last, want)
	}
	got := feedAll(NewInput(tab, false), "\x02:", "detach-client", "\r")
	if got[len(got)-1].Kind != ActDetach {
		t.Errorf("detach-client from the prompt: got %+v", got)
	}
	got = feedAll(NewInput(tab, false), "\x02:", "kill-server", "\x03", "x")
	if k := got[len(got)-1]; k.Kind != ActPaneKey || k.Key != 'x' {
		t.Errorf("C-c cancels: got %+v", got)
	}
}

func TestSplitCommand(t *testing.T) {
	for in, want := range map[string][]string{
		`a b  c`:                   {"a", "b", "c"},
		`set -g status-left "x y"`: {"set", "-g", "status-left", "x y"},
		`send-keys 'a\b' \;`:       {"send-keys", `a\b`, `\;`},
		`neww ; splitw`:            {"neww", ";", "splitw"},
		`a # comment`:              {"a"},
	} {
		if got := splitCommand(in); !reflect.DeepEqual(got, want) {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
	}
}

func TestCommandPromptTemplates(t *testing.T) {
	tab := defaultTable(t, []string{"bind-key", "y", "command-prompt", "-I", "abc", "rename-window '%%'"})
	got := feedAll(NewInput(tab, false), "\x02'", "2\r")
	want := []Action{
		{Kind: ActPrompt, Prompt: Prompt{Text: "index "}},
		{Kind: ActPrompt, Prompt: Prompt{Text: "index ", Buffer: "2", Cursor: 1}},
		{Kind: ActPrompt},
		{Kind: ActExec, Argv: []string{"select-window", "-t", ":2"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("prefix ': got %+v, want %+v", got, want)
	}
	got = feedAll(NewInput(tab, false), "\x02y", "\x7fX\r")
	if last := got[len(got)-1]; !reflect.DeepEqual(last.Argv, []string{"rename-window", "abX"}) ||
		got[0].Prompt != (Prompt{Text: "(rename-window) ", Buffer: "abc", Cursor: 3}) {
		t.Errorf("-I: got %+v", got)
	}
	// -I with a format goes to the host unless the bindings expand it.
	if got := feedAll(NewInput(tab, false), "\x02,"); len(got) != 1 || got[0].Kind != ActExec {
		t.Errorf("prefix ,: got %+v", got)
	}
	got = feedAll(NewInput(expanding{tab}, false), "\x02,", "2\r")
	if got[0].Prompt != (Prompt{Text: "(rename-window) ", Buffer: "editor", Cursor: 6}) ||
		!reflect.DeepEqual(got[len(got)-1].Argv, []string{"rename-window", "editor2"}) {
		t.Errorf("prefix , with an expander: got %+v", got)
	}
	for tmpl, want := range map[string]string{
		"a %% b %% c":  "a x y b %% c",
		"%1 and %1":    "x y and x y",
		`say "%%%"`:    `say "x y"`,
		"no percent %": "no percent %",
	} {
		if got := templateReplace(tmpl, "x y"); got != want {
			t.Errorf("templateReplace(%q) = %q, want %q", tmpl, got, want)
		}
	}
}

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

// A line typed at a prompt stops growing at MaxPromptLength characters;
// editing it and Enter still work.
func TestPromptLineIsBounded(t *testing.T) {
	in := NewInput(defaultTable(t), false)
	var last []Action
	for _, p := range []string{"\x02:", "new-window -n x", strings.Repeat("y", 3*MaxPromptLength)} {
		last = feedAll(in, p)
	}
	open := last[len(last)-1]
	if open.Kind != ActPrompt || len([]rune(open.Prompt.Buffer)) != MaxPromptLength {
		t.Fatalf("after %d characters the prompt holds %d, want %d", 3*MaxPromptLength+15, len([]rune(open.Prompt.Buffer)), MaxPromptLength)
	}
	got := feedAll(in, "\r")
	want := Action{Kind: ActExec, Argv: []string{"new-window", "-n", "x" + strings.Repeat("y", MaxPromptLength-15)}}
	if k := got[len(got)-1]; !reflect.DeepEqual(k, want) {
		t.Fatalf("Enter ran %+v, want the bounded line", k)
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

func TestPromptHistory(t *testing.T) {
	in := NewInput(defaultTable(t), false)
	feedAll(in, "\x02:", "rename-window one\r", "\x02:", "rename-window two\r", "\x02:", "rename-window two\r", "\x02:", "\r")
	for _, c := range []struct {
		keys string
		want Prompt
	}{
		{"\x1b[A", Prompt{Text: ":", Buffer: "rename-window two", Cursor: 17}},
		{"\x1b[A\x1b[A", Prompt{Text: ":", Buffer: "rename-window one", Cursor: 17}},
		{"\x1b[A\x1b[A\x1b[A", Prompt{Text: ":", Buffer: "rename-window one", Cursor: 17}}, // no further back
		{"\x1b[A\x1b[A\x1b[B", Prompt{Text: ":", Buffer: "rename-window two", Cursor: 17}},
		{"\x1b[A\x1b[B", Prompt{Text: ":"}}, // past the newest: empty
		{"typed\x1b[B", Prompt{Text: ":"}},
		{"\x10\x10\x0e", Prompt{Text: ":", Buffer: "rename-window two", Cursor: 17}}, // C-p C-p C-n
	} {
		got := feedAll(in, "\x02:", c.keys)
		if last := got[len(got)-1].Prompt; last != c.want {
			t.Errorf("%q: prompt %+v, want %+v", c.keys, last, c.want)
		}
		feedAll(in, "\x1b")
	}
	// Each guest has its own history.
	if got := feedAll(NewInput(defaultTable(t), false), "\x02:", "\x1b[A"); got[len(got)-1].Prompt != (Prompt{Text: ":"}) {
		t.Errorf("a new guest's Up: %+v", got)
	}

	var h promptHistory
	for i := 0; i < promptHistoryMax+5; i++ {
		h.add(strings.Repeat("x", i+1))
	}
	if len(h.lines) != promptHistoryMax || h.lines[0] != strings.Repeat("x", 6) {
		t.Errorf("history keeps %d lines from %q, want %d from 6 x", len(h.lines), h.lines[0], promptHistoryMax)
	}
}

func TestPromptComplete(t *testing.T) {
	for _, c := range []struct {
		buf    string
		cursor int // -1: at the end
		want   string
		wantAt int
	}{
		{"sel", -1, "select-", 7},
		{"select-w", -1, "select-window ", 14},
		{"kill-ser", -1, "kill-server ", 12},
		{"set -g status-l", -1, "set -g status-left", 18},
		{"set -g display-panes-c", -1, "set -g display-panes-colour ", 28},
		{"selectl even-h", -1, "selectl even-horizontal ", 24},
		{"neww ; sp", -1, "neww ; split-window ", 20},
		{"sel -t 1", 2, "select- -t 1", 7}, // the word the cursor is in
		{"nothing-like-this", -1, "nothing-like-this", 17},
		{"selectw -t :", -1, "selectw -t :", 12}, // targets are not completed
		{"sel ", -1, "sel ", 4},                  // after a space: no word
		{"", -1, "", 0},
	} {
		p := &prompt{text: ":", buf: []rune(c.buf), idx: len([]rune(c.buf))}
		if c.cursor >= 0 {
			p.idx = c.cursor
		}
		p.key(keys.Tab)
		if string(p.buf) != c.want || p.idx != c.wantAt {
			t.Errorf("%q at %d: got %q at %d, want %q at %d", c.buf, c.cursor, string(p.buf), p.idx, c.want, c.wantAt)
		}
	}
}

func TestRenameSessionPrompt(t *testing.T) {
	tab := expandingSession{defaultTable(t)}
	got := feedAll(NewInput(tab, false), "\x02$", "\x7fX\r")
	if got[0].Prompt != (Prompt{Text: "(rename-session) ", Buffer: "shared", Cursor: 6}) ||
		!reflect.DeepEqual(got[len(got)-1].Argv, []string{"rename-session", "shareX"}) {
		t.Errorf("prefix $: got %+v", got)
	}
}

// expandingSession is a key table in a session named "shared".
type expandingSession struct{ *keys.Table }

func (expandingSession) ExpandFormat(s string) string { return strings.ReplaceAll(s, "#S", "shared") }

func TestPromptEditing(t *testing.T) {
	for _, c := range []struct {
		name       string
		buf        string
		cursor     int
		k          keys.Key
		want       string
		wantCursor int
	}{
		{"C-w deletes back to a word separator", "select-window -t", 16, 23, "select-window -", 15},
		{"C-w skips separators first", "split-window  ", 14, 23, "split-", 6},
		{"C-w at the start does nothing", "abc", 0, 23, "abc", 0},
		{"M-b goes to the word's start", "new-window -n x", 13, 'b' | keys.Meta, "new-window -n x", 12},
		{"M-b from inside a word", "new-window", 8, 'b' | keys.Meta, "new-window", 4},
		{"M-f goes past the next word", "new-window -n", 0, 'f' | keys.Meta, "new-window -n", 3},
		{"M-f from a separator", "new-window -n", 3, 'f' | keys.Meta, "new-window -n", 10},
		{"M-f at the end stays", "abc", 3, 'f' | keys.Meta, "abc", 3},
		{"C-t swaps around the cursor", "abc", 1, 20, "bac", 2},
		{"C-t at the end swaps the last two", "abc", 3, 20, "acb", 3},
		{"C-t at the start does nothing", "abc", 0, 20, "abc", 0},
		{"M-m goes to the start", "abc", 2, 'm' | keys.Meta, "abc", 0},
		{"C-g does nothing (tmux 2.4 has no binding)", "abc", 2, 7, "abc", 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := &prompt{text: ":", buf: []rune(c.buf), idx: c.cursor}
			if done, _ := p.key(c.k); done || string(p.buf) != c.want || p.idx != c.wantCursor {
				t.Errorf("got %q at %d (done=%v), want %q at %d", string(p.buf), p.idx, done, c.want, c.wantCursor)
			}
		})
	}
}

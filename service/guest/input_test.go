package guest

import (
	"bufio"
	"encoding/json"
	"os"
	"reflect"
	"testing"
	"time"

	"tmate-relay/service/keys"
)

// defaultTable is the key table real tmate 2.4.0 replicates at start-up
// (captured in the keys package's testdata), plus extra commands.
func defaultTable(t testing.TB, extra ...[]string) *keys.Table {
	t.Helper()
	f, err := os.Open("../keys/testdata/tmate-2.4.0-default.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tab := keys.NewTable()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var msg []any
		if err := json.Unmarshal(sc.Bytes(), &msg); err != nil {
			t.Fatal(err)
		}
		var argv []string
		for _, a := range msg[1:] {
			argv = append(argv, a.(string))
		}
		if _, err := tab.Apply(argv); err != nil {
			t.Fatal(err)
		}
	}
	for _, argv := range extra {
		if _, err := tab.Apply(argv); err != nil {
			t.Fatal(err)
		}
	}
	return tab
}

// step is one thing a test guest does: type bytes, wait, or let the
// escape-time pass.
type step struct {
	in    string
	wait  time.Duration
	flush bool
}

func pane(ks ...keys.Key) []Action {
	var out []Action
	for _, k := range ks {
		out = append(out, Action{Kind: ActPaneKey, Key: k})
	}
	return out
}

func hostCmd(argv ...string) Action { return Action{Kind: ActExec, Argv: argv} }

var detach = Action{Kind: ActDetach}

func cat(parts ...[]Action) []Action {
	var out []Action
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func runInput(t *testing.T, in *Input, steps []step) []Action {
	t.Helper()
	var got []Action
	for _, s := range steps {
		switch {
		case s.flush:
			got = append(got, in.Flush()...)
		case s.wait > 0:
			in.SetClock(advance(in.now, s.wait))
		default:
			got = append(got, in.Feed([]byte(s.in))...)
		}
	}
	return append(got, in.Flush()...)
}

func advance(now func() time.Time, d time.Duration) func() time.Time {
	t := now().Add(d)
	return func() time.Time { return t }
}

func typed(s ...string) []step {
	var out []step
	for _, x := range s {
		out = append(out, step{in: x})
	}
	return out
}

func TestInput(t *testing.T) {
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name     string
		extra    [][]string
		readOnly bool
		steps    []step
		want     []Action
	}{
		{"plain keys go to the pane", nil, false, typed("ls\r"), pane('l', 's', keys.Enter)},
		{"special keys go to the pane", nil, false, typed("\x1b[A\x1b[1;5D\x7f\x1bx"), pane(keys.Up, keys.Left|keys.Ctrl, keys.BSpace, 'x'|keys.Meta)},
		{"lone escape after escape-time", nil, false, []step{{in: "\x1b"}, {flush: true}, {in: "j"}}, pane(keys.Escape, 'j')},
		{"prefix then bound key runs it on the host", nil, false, typed("\x02c"), []Action{hostCmd("new-window")}},
		{"prefix split across reads", nil, false, typed("\x02", "%"), []Action{hostCmd("split-window", "-h")}},
		{"prefix then special key", nil, false, typed("\x02\x1b[5~"), []Action{hostCmd("copy-mode", "-u")}},
		{"prefix then meta key", nil, false, typed("\x02\x1b2"), []Action{hostCmd("select-layout", "even-vertical")}},
		{"confirm-before asks on the guest, then its command reaches the host", nil, false, typed("\x02&y"),
			[]Action{{Kind: ActPrompt, Prompt: Prompt{Text: "kill-window #W? (y/n) "}}, {Kind: ActPrompt}, hostCmd("kill-window")}},
		{"unbound key after prefix is dropped", nil, false, typed("\x02Ka"), pane('a')},
		{"prefix prefix sends the prefix", nil, false, typed("\x02\x02"), pane(2)},
		{"send-prefix -2 sends prefix2", [][]string{{"set-option", "-g", "prefix2", "C-a"}, {"bind-key", "a", "send-prefix", "-2"}}, false,
			typed("\x02a"), pane(1)},
		{"send-prefix without prefix2 sends nothing", [][]string{{"bind-key", "a", "send-prefix", "-2"}}, false, typed("\x02a"), nil},
		{"prefix2 works like prefix", [][]string{{"set-option", "-g", "prefix2", "C-a"}}, false, typed("\x01n"), []Action{hostCmd("next-window")}},
		{"changed prefix", [][]string{{"set-option", "-g", "prefix", "C-a"}}, false, typed("\x01n\x02"), cat([]Action{hostCmd("next-window")}, pane(2))},
		{"prefix None disables it", [][]string{{"set-option", "-g", "prefix", "None"}}, false, typed("\x02n"), pane(2, 'n')},
		{"detach-client detaches locally", nil, false, typed("\x02dabc"), []Action{detach}},
		{"detach alias", [][]string{{"bind-key", "q", "detach"}}, false, typed("\x02q"), []Action{detach}},
		{"repeat keeps the prefix table", nil, false, typed("\x02\x1b[A\x1b[A\x1b[B"),
			[]Action{hostCmd("select-pane", "-U"), hostCmd("select-pane", "-U"), hostCmd("select-pane", "-D")}},
		{"repeat ends after repeat-time", nil, false,
			[]step{{in: "\x02\x1b[A"}, {wait: 400 * time.Millisecond}, {in: "\x1b[A"}, {wait: 501 * time.Millisecond}, {in: "\x1b[A"}},
			cat([]Action{hostCmd("select-pane", "-U"), hostCmd("select-pane", "-U")}, pane(keys.Up))},
		{"repeat-time option", [][]string{{"set-option", "-g", "repeat-time", "100"}}, false,
			[]step{{in: "\x02\x1b[A"}, {wait: 150 * time.Millisecond}, {in: "\x1b[A"}},
			cat([]Action{hostCmd("select-pane", "-U")}, pane(keys.Up))},
		{"repeat-time 0 disables repeat", [][]string{{"set-option", "-g", "repeat-time", "0"}}, false,
			typed("\x02\x1b[A\x1b[A"), cat([]Action{hostCmd("select-pane", "-U")}, pane(keys.Up))},
		{"non-repeat key while repeating goes to the root table", nil, false, typed("\x02\x1b[Ac"),
			cat([]Action{hostCmd("select-pane", "-U")}, pane('c'))},
		{"unbound key while repeating goes to the pane", nil, false, typed("\x02\x1b[Az"),
			cat([]Action{hostCmd("select-pane", "-U")}, pane('z'))},
		{"prefix while repeating starts a new prefix", nil, false, typed("\x02\x1b[A\x02c"),
			[]Action{hostCmd("select-pane", "-U"), hostCmd("new-window")}},
		{"root binding without prefix", [][]string{{"bind-key", "-n", "M-h", "select-pane", "-L"}}, false, typed("\x1bh"),
			[]Action{hostCmd("select-pane", "-L")}},
		{"root binding beats the prefix", [][]string{{"bind-key", "-n", "C-b", "display-message", "hi"}}, false, typed("\x02c"),
			cat([]Action{hostCmd("display-message", "hi")}, pane('c'))},
		{"root repeat binding", [][]string{{"bind-key", "-n", "-r", "M-h", "select-pane", "-L"}}, false, typed("\x1bhh"),
			cat([]Action{hostCmd("select-pane", "-L")}, pane('h'))},
		{"several commands are several EXEC_CMDs", [][]string{{"bind-key", "x", "select-pane", "-L", ";", "display-message", "left; ok"}}, false,
			typed("\x02x"), []Action{hostCmd("select-pane", "-L"), hostCmd("display-message", "left; ok")}},
		{"nothing after detach in a binding", [][]string{{"bind-key", "x", "detach-client", ";", "kill-server"}}, false,
			typed("\x02x"), []Action{detach}},
		{"switch-client -T follows a custom table", [][]string{{"bind-key", "-n", "M-t", "switch-client", "-T", "mine"}, {"bind-key", "-T", "mine", "x", "kill-pane"}}, false,
			typed("\x1btxx"), cat([]Action{hostCmd("kill-pane")}, pane('x'))},
		{"switch-client without -T goes to the host", nil, false, typed("\x02("), []Action{hostCmd("switch-client", "-p")}},
		{"local commands", nil, false, typed("\x02?q\x02r\x02\x1a"),
			[]Action{{Kind: ActView, Local: LocalView{List: []string{}}}, {Kind: ActView}, {Kind: ActLocal, Argv: []string{"refresh-client"}}, {Kind: ActLocal, Argv: []string{"suspend-client"}}}},
		{"mouse reports are dropped", nil, false, typed("\x1b[M !!\x1b[<0;3;4Ma"), pane('a')},
		{"focus reports are dropped", nil, false, typed("\x1b[I\x1b[Oa"), pane('a')},
		{"pasted text goes to the pane, never to bindings", [][]string{{"bind-key", "-n", "x", "kill-server"}}, false,
			typed("\x1b[200~\x02x\r\x1b[201~x"), cat(pane('['|keys.Meta, '2', '0', '0', '~', 2, 'x', keys.Enter, '['|keys.Meta, '2', '0', '1', '~'), []Action{hostCmd("kill-server")})},
		{"a paste cut short by the escape time still ends", nil, false, typed("\x1b[200~ab"),
			pane('['|keys.Meta, '2', '0', '0', '~', 'a', 'b', '['|keys.Meta, '2', '0', '1', '~')},
		{"a paste into the prompt has no markers", nil, false, typed("\x02:\x1b[200~ab\x1b[201~"), []Action{
			{Kind: ActPrompt, Prompt: Prompt{Text: ":"}},
			{Kind: ActPrompt, Prompt: Prompt{Text: ":", Buffer: "a", Cursor: 1}},
			{Kind: ActPrompt, Prompt: Prompt{Text: ":", Buffer: "ab", Cursor: 2}}}},
		{"read-only: typing reaches nothing", nil, true, typed("ls\r\x1b[A"), nil},
		{"read-only: bindings reach nothing", nil, true, typed("\x02c\x02\x02\x02?\x02\x1b[A"), nil},
		{"read-only: prefix d detaches", nil, true, typed("abc\x02d"), []Action{detach}},
		{"read-only: whatever key detach is bound to", [][]string{{"unbind-key", "d"}, {"bind-key", "-n", "F10", "detach-client"}}, true,
			typed("\x02d\x1b[21~"), []Action{detach}},
		{"read-only: paste reaches nothing", nil, true, typed("\x1b[200~rm -rf\r\x1b[201~"), nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := NewInput(defaultTable(t, c.extra...), c.readOnly)
			in.SetClock(func() time.Time { return start })
			got := runInput(t, in, c.steps)
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got  %v\nwant %v", got, c.want)
			}
		})
	}
}

func TestInputKeyTable(t *testing.T) {
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	in := NewInput(defaultTable(t), false)
	in.SetClock(func() time.Time { return now })
	if in.KeyTable() != "root" {
		t.Fatal(in.KeyTable())
	}
	in.Feed([]byte("\x02"))
	if in.KeyTable() != "prefix" {
		t.Fatal(in.KeyTable())
	}
	in.Feed([]byte("\x1b[A"))
	if in.KeyTable() != "prefix" {
		t.Fatal("repeat should keep the prefix table")
	}
	now = now.Add(time.Second)
	if in.KeyTable() != "root" {
		t.Fatal("repeat did not expire")
	}
}

func TestInputAfterDetachYieldsNothing(t *testing.T) {
	in := NewInput(defaultTable(t), false)
	if got := in.Feed([]byte("\x02d")); !reflect.DeepEqual(got, []Action{detach}) {
		t.Fatal(got)
	}
	if got := append(in.Feed([]byte("abc\x02c")), in.Flush()...); len(got) != 0 {
		t.Fatal(got)
	}
}

// A fake table: any interface with Lookup and Prefix will do.
type fakeBindings map[keys.Key]keys.Binding

func (f fakeBindings) Lookup(table string, k keys.Key) (keys.Binding, bool) {
	b, ok := f[k]
	return b, ok && table == "prefix"
}
func (f fakeBindings) Prefix() (keys.Key, keys.Key) { return 1, keys.KeyNone }

func TestInputTakesAnyBindings(t *testing.T) {
	in := NewInput(fakeBindings{'x': {Key: 'x', Command: []string{"kill-pane"}}}, false)
	got := append(in.Feed([]byte("\x01x\x02")), in.Flush()...)
	if want := cat([]Action{hostCmd("kill-pane")}, pane(2)); !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

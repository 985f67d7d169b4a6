package keys

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"testing"
	"time"
)

// loadCapture reads the EXEC_CMD messages real tmate 2.4.0 sent a relay at
// start-up (captured with a throwaway SSH server; the fingerprint is masked).
func loadCapture(t *testing.T, file string) [][]string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var msg []any
		if err := json.Unmarshal(sc.Bytes(), &msg); err != nil {
			t.Fatal(err)
		}
		if msg[0].(float64) != 12 {
			continue
		}
		var argv []string
		for _, a := range msg[1:] {
			argv = append(argv, a.(string))
		}
		out = append(out, argv)
	}
	return out
}

func applyAll(t *testing.T, tab *Table, cmds [][]string) (handled int) {
	t.Helper()
	for _, argv := range cmds {
		h, err := tab.Apply(argv)
		if err != nil {
			t.Errorf("Apply(%q): %v", argv, err)
		}
		if h {
			handled++
		}
	}
	return handled
}

func TestRealDefaultTableParses(t *testing.T) {
	cmds := loadCapture(t, "testdata/tmate-2.4.0-default.jsonl")
	tab := NewTable()
	if got := applyAll(t, tab, cmds); got != 83 {
		t.Errorf("%d commands handled, want the 83 bind-keys", got)
	}
	list := tab.List()
	if len(list) != 83 {
		t.Fatalf("List has %d bindings, want 83", len(list))
	}
	if got := tab.Tables(); !reflect.DeepEqual(got, []string{"prefix", "root"}) {
		t.Errorf("Tables() = %q", got)
	}
	if p, p2 := tab.Prefix(); p != 2 || p2 != KeyNone {
		t.Errorf("Prefix() = %s, %s", p, p2)
	}
	for _, c := range []struct {
		table, key string
		repeat     bool
		cmds       [][]string
	}{
		{"prefix", "C-b", false, [][]string{{"send-prefix"}}},
		{"prefix", "d", false, [][]string{{"detach-client"}}},
		{"prefix", ";", false, [][]string{{"last-pane"}}},
		{"prefix", "&", false, [][]string{{"confirm-before", "-pkill-window #W? (y/n)", "kill-window"}}},
		{"prefix", "Up", true, [][]string{{"select-pane", "-U"}}},
		{"prefix", "M-Up", true, [][]string{{"resize-pane", "-U", "5"}}},
		{"root", "MouseDown1Pane", false, [][]string{{"select-pane", "-t="}, {"send-keys", "-M"}}},
		{"root", "MouseDown3Pane", false, [][]string{{"if-shell", "-Ft=", "#{mouse_any_flag}", "select-pane -t=; send-keys -M", "select-pane -mt="}}},
	} {
		k, _ := Parse(c.key)
		b, ok := tab.Lookup(c.table, k)
		if !ok || b.Repeat != c.repeat || !reflect.DeepEqual(b.Commands(), c.cmds) {
			t.Errorf("%s %s: %+v %v, commands %q", c.table, c.key, b, ok, b.Commands())
		}
	}
	if list[0].String() != "bind-key -T prefix C-b send-prefix" {
		t.Errorf("first listed: %q", list[0].String())
	}
	if s := list[len(list)-1].String(); s != `bind-key -T root WheelDownStatus next-window` {
		t.Errorf("last listed: %q", s)
	}
}

func TestRealCustomConfig(t *testing.T) {
	tab := NewTable()
	applyAll(t, tab, loadCapture(t, "testdata/tmate-2.4.0-custom.jsonl"))
	if p, p2 := tab.Prefix(); p != 1 || p2 != F12 {
		t.Errorf("Prefix() = %s, %s; want C-a, F12", p, p2)
	}
	if tab.RepeatTime() != 800*time.Millisecond {
		t.Errorf("RepeatTime() = %v", tab.RepeatTime())
	}
	lookup := func(table, key string) (Binding, bool) {
		k, err := Parse(key)
		if err != nil {
			t.Fatal(err)
		}
		return tab.Lookup(table, k)
	}
	if _, ok := lookup("prefix", "C-b"); ok {
		t.Error("C-b still bound after unbind C-b")
	}
	if _, ok := lookup("root", "MouseDown1Pane"); ok {
		t.Error("MouseDown1Pane still bound after unbind -n")
	}
	if b, ok := lookup("root", "M-h"); !ok || !b.Repeat || !reflect.DeepEqual(b.Commands(),
		[][]string{{"select-pane", "-L"}, {"display-message", "left; ok"}}) {
		t.Errorf("M-h: %+v", b)
	}
	for key, cmd := range map[string]string{"C-x": "kill-pane", `\`: "split-window", "é": "display", "q": "detach", "a": "send-prefix"} {
		if b, ok := lookup("prefix", key); !ok || b.Command[0] != cmd {
			t.Errorf("prefix %s: %+v", key, b)
		}
	}
	if b, ok := lookup("mytable", "x"); !ok || b.Command[1] != "in mytable" {
		t.Errorf("mytable x: %+v", b)
	}
	if _, ok := lookup("vi-copy", "v"); ok {
		t.Error("mode table binding must not be a key table binding")
	}
	var mode []Binding
	for _, b := range tab.List() {
		if b.Mode {
			mode = append(mode, b)
		}
	}
	if len(mode) != 1 || mode[0].String() != "bind-key -t vi-copy v begin-selection" {
		t.Errorf("mode bindings: %v", mode)
	}
}

func TestApply(t *testing.T) {
	for _, c := range []struct {
		name    string
		cmds    [][]string
		handled bool
		err     bool
		table   string
		key     Key
		want    *Binding // nil: not bound
	}{
		{"bind default prefix table", [][]string{{"bind-key", "x", "kill-pane"}}, true, false, "prefix", 'x',
			&Binding{Table: "prefix", Key: 'x', Command: []string{"kill-pane"}}},
		{"bind alias and combined flags", [][]string{{"bind", "-nr", "M-a", "next"}}, true, false, "root", 'a' | Meta,
			&Binding{Table: "root", Key: 'a' | Meta, Repeat: true, Command: []string{"next"}}},
		{"attached table name", [][]string{{"bind-key", "-Tcopy-mode", "q", "send-keys", "-X", "cancel"}}, true, false, "copy-mode", 'q',
			&Binding{Table: "copy-mode", Key: 'q', Command: []string{"send-keys", "-X", "cancel"}}},
		{"rebind replaces", [][]string{{"bind-key", "x", "a"}, {"bind-key", "-r", "x", "b"}}, true, false, "prefix", 'x',
			&Binding{Table: "prefix", Key: 'x', Repeat: true, Command: []string{"b"}}},
		{"unbind", [][]string{{"bind-key", "x", "a"}, {"unbind-key", "x"}}, true, false, "prefix", 'x', nil},
		{"unbind -a", [][]string{{"bind-key", "x", "a"}, {"bind-key", "-n", "y", "a"}, {"unbind", "-a"}}, true, false, "root", 'y', nil},
		{"unbind -a -T", [][]string{{"bind-key", "-T", "t", "x", "a"}, {"unbind-key", "-a", "-T", "t"}}, true, false, "t", 'x', nil},
		{"unbind -T missing table", [][]string{{"unbind-key", "-T", "nope", "x"}}, true, true, "nope", 'x', nil},
		{"bind without command", [][]string{{"bind-key", "x"}}, true, true, "prefix", 'x', nil},
		{"bind unknown key", [][]string{{"bind-key", "C-{", "a"}}, true, true, "prefix", 0, nil},
		{"bind None", [][]string{{"bind-key", "None", "a"}}, true, true, "prefix", KeyNone, nil},
		{"bind unknown flag", [][]string{{"bind-key", "-z", "x", "a"}}, true, true, "prefix", 'x', nil},
		{"unbind key with -a", [][]string{{"unbind-key", "-a", "x"}}, true, true, "prefix", 'x', nil},
		{"other command", [][]string{{"set-option", "-g", "status", "off"}}, false, false, "prefix", 'x', nil},
		{"window option", [][]string{{"set-window-option", "-g", "mode-keys", "vi"}}, false, false, "prefix", 'x', nil},
		{"empty", [][]string{{}}, false, false, "prefix", 'x', nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			tab := NewTable()
			var handled bool
			var err error
			for _, argv := range c.cmds {
				handled, err = tab.Apply(argv)
			}
			if handled != c.handled || (err != nil) != c.err {
				t.Fatalf("last Apply = %v, %v", handled, err)
			}
			if c.err && !errors.Is(err, ErrCommand) && !errors.Is(err, ErrUnknownKey) {
				t.Errorf("error %v wraps neither ErrCommand nor ErrUnknownKey", err)
			}
			b, ok := tab.Lookup(c.table, c.key)
			if c.want == nil {
				if ok {
					t.Errorf("bound: %+v", b)
				}
				return
			}
			if !ok || !reflect.DeepEqual(b, *c.want) {
				t.Errorf("Lookup = %+v, %v; want %+v", b, ok, *c.want)
			}
		})
	}
}

func TestPrefixOptions(t *testing.T) {
	for _, c := range []struct {
		name    string
		cmds    [][]string
		p, p2   Key
		repeat  time.Duration
		handled bool
	}{
		{"defaults", nil, 2, KeyNone, 500 * time.Millisecond, false},
		{"global prefix", [][]string{{"set-option", "-g", "prefix", "C-a"}}, 1, KeyNone, 500 * time.Millisecond, true},
		{"alias and prefix2", [][]string{{"set", "-g", "prefix2", "M-a"}}, 2, 'a' | Meta, 500 * time.Millisecond, true},
		{"session beats global", [][]string{{"set-option", "prefix", "C-x"}, {"set-option", "-g", "prefix", "C-a"}}, 24, KeyNone, 500 * time.Millisecond, true},
		{"unset session", [][]string{{"set-option", "prefix", "C-x"}, {"set-option", "-g", "prefix", "C-a"}, {"set-option", "-u", "prefix"}}, 1, KeyNone, 500 * time.Millisecond, true},
		{"unset global", [][]string{{"set-option", "-g", "prefix", "C-a"}, {"set-option", "-gu", "prefix"}}, 2, KeyNone, 500 * time.Millisecond, true},
		{"prefix None", [][]string{{"set-option", "-g", "prefix", "None"}}, KeyNone, KeyNone, 500 * time.Millisecond, true},
		{"-o keeps a set value", [][]string{{"set-option", "-g", "prefix", "C-a"}, {"set-option", "-go", "prefix", "C-x"}}, 1, KeyNone, 500 * time.Millisecond, true},
		{"repeat-time recorded, not handled", [][]string{{"set-option", "-g", "repeat-time", "0"}}, 2, KeyNone, 0, false},
		{"server option ignored", [][]string{{"set-option", "-s", "prefix", "C-a"}}, 2, KeyNone, 500 * time.Millisecond, false},
		{"bad key ignored", [][]string{{"set-option", "-g", "prefix", "C-{"}}, 2, KeyNone, 500 * time.Millisecond, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			tab := NewTable()
			var handled bool
			for _, argv := range c.cmds {
				handled, _ = tab.Apply(argv)
			}
			p, p2 := tab.Prefix()
			if p != c.p || p2 != c.p2 || tab.RepeatTime() != c.repeat || handled != c.handled {
				t.Errorf("prefix %s %s repeat %v handled %v", p, p2, tab.RepeatTime(), handled)
			}
		})
	}
}

func TestSplitCommands(t *testing.T) {
	for _, c := range []struct {
		in   []string
		want [][]string
	}{
		{[]string{"a", "-x"}, [][]string{{"a", "-x"}}},
		{[]string{"a", ";", "b"}, [][]string{{"a"}, {"b"}}},
		{[]string{"a", "-t=;", "b", "-M"}, [][]string{{"a", "-t="}, {"b", "-M"}}},
		{[]string{"send-keys", `\;`}, [][]string{{"send-keys", ";"}}},
		{[]string{"a", "x;y"}, [][]string{{"a", "x;y"}}},
		{[]string{";", "a", ";", ";"}, [][]string{{"a"}}},
		{nil, nil},
	} {
		if got := SplitCommands(c.in); !reflect.DeepEqual(got, c.want) {
			t.Errorf("SplitCommands(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestCommandName(t *testing.T) {
	for in, want := range map[string]string{
		"detach": "detach-client", "detach-client": "detach-client", "detach-c": "detach-client",
		"send-prefix": "send-prefix", "bind": "bind-key", "set": "set-option", "setw": "set-window-option",
		"switchc": "switch-client", "if": "if-shell", "lsk": "list-keys", "a": "attach-session",
		"s": "", "": "", "nope": "", "list": "",
	} {
		if got := CommandName(in); got != want {
			t.Errorf("CommandName(%q) = %q, want %q", in, got, want)
		}
	}
}

package guest

import (
	"strings"
	"time"

	"tmate-relay/service/internal/faultinject"
	"tmate-relay/service/keys"
)

// Bindings is what Input reads of the session's key table; *keys.Table
// satisfies it. If it also has RepeatTime() time.Duration, that is the
// repeat-time; otherwise tmux's default of 500 ms.
type Bindings interface {
	Lookup(table string, k keys.Key) (keys.Binding, bool)
	Prefix() (prefix, prefix2 keys.Key)
}

// ActionKind says what an Action asks the relay to do.
type ActionKind int

const (
	// ActPaneKey: send Key to the host's active pane (PANE_KEY, pane -1).
	ActPaneKey ActionKind = iota + 1
	// ActExec: run Argv, one tmux command, on the host (EXEC_CMD).
	ActExec
	// ActDetach: detach this guest.
	ActDetach
	// ActLocal: a command the relay handles itself for this guest; Argv[0]
	// is the command's full name: refresh-client,
	// suspend-client, bind-key, unbind-key, set-option, set-window-option,
	// attach-session.
	ActLocal
	// ActPrompt: this guest's status-line prompt changed to Prompt (Text
	// "" when it closed). Confirm-before and command-prompt run on the
	// guest, as on a tmux client; only the command they end in goes to
	// the host.
	ActPrompt
	// ActView: this guest's own view over the window changed to Local
	// (display-panes, list-keys run on the guest); pane numbers go away
	// by themselves after For.
	ActView
	// ActMessage: show Message on this guest's status line, as tmux shows
	// a command's error to the client that ran it.
	ActMessage
)

// Action is one thing a guest's keys ask for.
type Action struct {
	Kind ActionKind
	Key  keys.Key // ActPaneKey
	Argv []string // ActExec, ActLocal
	// Prompt is the open prompt (ActPrompt).
	Prompt Prompt
	Local  LocalView     // ActView
	For    time.Duration // ActView: how long pane numbers show
	// Message is ActMessage's text.
	Message string
}

// ActivePane is the active pane as a guest's own views need it: its ID and
// size, and the indexes of its window's panes, Count of them from Base
// (pane-base-index).
type ActivePane struct {
	ID, W, H    int
	Base, Count int
}

// LocalSource is what Input reads of the session for the views a guest
// draws itself; LockedTable implements it. Without it a guest's key list
// is empty and its pane numbers show for tmux's default second.
type LocalSource interface {
	// KeyBindings is every binding, as keys.Table's List orders them.
	KeyBindings() []keys.Binding
	// ActivePane is the active pane and its window's pane indexes.
	ActivePane() ActivePane
	// DisplayPanesTime is the display-panes-time option.
	DisplayPanesTime() time.Duration
	// ViModeKeys reports whether the active window's mode-keys is vi.
	ViModeKeys() bool
}

// localCommands are handled by the relay, never sent to the host: those the
// original tmate-ssh-server ran locally (bind-key, unbind-key, set-option,
// set-window-option, attach-session; detach-client is ActDetach) and those
// that are about the guest's own terminal, not the host's (refresh-client,
// suspend-client — the host would act on its own client). display-panes
// and list-keys run on the guest itself (emitView).
var localCommands = map[string]bool{
	"refresh-client": true, "suspend-client": true,
	"bind-key": true, "unbind-key": true, "set-option": true,
	"set-window-option": true, "attach-session": true,
}

const rootTable = "root"

// Input is one guest's key handling, as a tmux 2.x client does it: bytes
// become keys (keys.Reader), root-table bindings (bind -n) run without the
// prefix, the prefix or prefix2 key switches to the prefix table for one key,
// a -r binding keeps its table for repeat-time, an unbound key after the
// prefix is dropped, everything else goes to the active pane. Key tables
// switched with `switch-client -T` are followed locally.
//
// A read-only Input yields only ActDetach: the keys still walk the tables
// so that the binding of detach-client (prefix d by default) works.
// After ActDetach an Input yields nothing more.
//
// Input is not safe for concurrent use; each guest has its own.
type Input struct {
	b        Bindings
	readOnly bool
	r        keys.Reader
	now      func() time.Time

	table       string // current key table
	repeating   bool
	repeatUntil time.Time
	detached    bool
	prompt      *prompt // the open status-line prompt, if any
	history     promptHistory
	numbersTill time.Time // pane numbers show until then (display-panes)
	list        *keyList  // the key list view, if open
	pasteToPane bool      // a bracketed paste's start marker went to the pane

	out []Action
}

// NewInput returns the input state of one guest.
func NewInput(b Bindings, readOnly bool) *Input {
	return &Input{b: b, readOnly: readOnly, now: time.Now, table: rootTable}
}

// SetClock replaces time.Now, for tests.
func (in *Input) SetClock(now func() time.Time) { in.now = now }

// SetErase sets the byte the guest's terminal sends for backspace (VERASE
// from its pty modes, 127 by default); see keys.Reader.SetErase.
func (in *Input) SetErase(b int) { in.r.SetErase(b) }

// Pending reports whether bytes wait for more input; call Flush after the
// escape-time passes without new bytes.
func (in *Input) Pending() bool { return in.r.Pending() }

// KeyTable returns the table the next key is looked up in ("root",
// "prefix", ...), for a status-line indicator.
func (in *Input) KeyTable() string {
	in.expire()
	return in.table
}

// Feed decodes the guest's bytes and returns what they ask for, in order.
// The actions are valid until the next Feed or Flush, which reuse their
// slice: a new one per keystroke would cost every key an allocation.
func (in *Input) Feed(p []byte) []Action {
	if faultinject.Hook != nil {
		faultinject.Hook(faultinject.GuestInput, string(p)) // a copy: p must not escape
	}
	in.out = in.out[:0]
	if !in.detached {
		in.r.Feed(p, in.key)
	}
	return in.out
}

// Flush decodes pending bytes as complete (a lone ESC is Escape). Its
// actions, as Feed's, are valid until the next Feed or Flush.
func (in *Input) Flush() []Action {
	in.out = in.out[:0]
	if !in.detached {
		in.r.Flush(in.key)
	}
	return in.out
}

func (in *Input) emit(a Action) {
	if in.detached || in.readOnly && a.Kind != ActDetach {
		return
	}
	if a.Kind == ActDetach {
		in.detached = true
	}
	in.out = append(in.out, a)
}

func (in *Input) repeatTime() time.Duration {
	if rt, ok := in.b.(interface{ RepeatTime() time.Duration }); ok {
		return rt.RepeatTime()
	}
	return keys.DefaultRepeatTime
}

func (in *Input) reset() {
	in.table = rootTable
	in.repeating = false
}

// expire ends a repeat whose time is up (tmux does it with a timer).
func (in *Input) expire() {
	if in.repeating && !in.now().Before(in.repeatUntil) {
		in.reset()
	}
}

// key handles one decoded key like tmux 2.x's server_client_handle_key.
func (in *Input) key(k keys.Key) {
	if in.detached || k == keys.FocusIn || k == keys.FocusOut || k.IsMouse() {
		return
	}
	if k == keys.PasteStart || k == keys.PasteEnd {
		in.pasteMarker(k)
		return
	}
	if in.numbersShown() {
		// tmux 2.4's identify mode: a digit selects that pane, any other
		// key hides the numbers and goes on as usual.
		in.numbersTill = time.Time{}
		in.emitView(0)
		if k >= '0' && k <= '9' {
			if ap := in.activePane(); int(k-'0') >= ap.Base && int(k-'0') < ap.Base+ap.Count {
				in.emit(Action{Kind: ActExec, Argv: []string{"select-pane", "-t", ":." + string(rune(k))}})
			}
			return
		}
	}
	if in.prompt != nil {
		in.promptKey(k) // pasted text too
		return
	}
	if in.r.InPaste() {
		// Pasted text goes to the pane as it is, never to bindings.
		in.toPane(k)
		return
	}
	in.expire()
	for {
		if bd, ok := in.b.Lookup(in.table, k); ok {
			if in.repeating && !bd.Repeat {
				// A repeating table only repeats -r bindings; others are
				// looked up again from the root table.
				in.reset()
				continue
			}
			if rt := in.repeatTime(); bd.Repeat && rt > 0 {
				in.repeating = true
				in.repeatUntil = in.now().Add(rt)
			} else {
				in.reset()
			}
			in.run(bd)
			return
		}
		if in.repeating {
			in.reset()
			continue
		}
		break
	}
	if in.table != rootTable {
		in.reset() // unbound key after the prefix: dropped
		return
	}
	if p, p2 := in.b.Prefix(); k != keys.KeyNone && (k == p || k == p2) {
		in.table = "prefix"
		return
	}
	in.toPane(k)
}

// pasteMarker passes a bracketed paste's marker on to the pane as a tmate
// client does (M-[ then "200~" or "201~"), so a program that asked for
// bracketed paste sees the paste whole. A paste into the guest's own
// prompt or views has no markers, and an end marker goes to the pane only
// after its start marker did.
func (in *Input) pasteMarker(k keys.Key) {
	if k == keys.PasteEnd {
		if in.pasteToPane {
			in.pasteToPane = false
			in.markerToPane("201~")
		}
		return
	}
	if in.prompt != nil || in.numbersShown() || in.list != nil && in.list.pane == in.activePane().ID {
		return
	}
	in.pasteToPane = true
	in.markerToPane("200~")
}

func (in *Input) markerToPane(rest string) {
	in.emit(Action{Kind: ActPaneKey, Key: '[' | keys.Meta})
	for _, c := range rest {
		in.emit(Action{Kind: ActPaneKey, Key: keys.Key(c)})
	}
}

// toPane gives k to the active pane: to the key list when this guest shows
// it there (a mode of the guest's own, so its keys stay here), else to the
// host.
func (in *Input) toPane(k keys.Key) {
	ap := in.activePane()
	if in.list == nil || in.list.pane != ap.ID {
		in.emit(Action{Kind: ActPaneKey, Key: k})
		return
	}
	ls, ok := in.localSource()
	if !in.list.key(k, ap.W, ap.H, ok && ls.ViModeKeys()) {
		in.list = nil
	}
	in.emitView(0)
}

// numbersShown reports whether display-panes' numbers still show.
func (in *Input) numbersShown() bool {
	return !in.numbersTill.IsZero() && in.now().Before(in.numbersTill)
}

// emitView reports this guest's own views as they are now.
func (in *Input) emitView(numbersFor time.Duration) {
	var v LocalView
	if in.list != nil {
		v = in.list.view()
	}
	v.PaneNumbers = in.numbersShown()
	in.emit(Action{Kind: ActView, Local: v, For: numbersFor})
}

func (in *Input) localSource() (LocalSource, bool) {
	ls, ok := in.b.(LocalSource)
	return ls, ok
}

// activePane is the active pane (80x23 in a window of ten panes when the
// session cannot tell).
func (in *Input) activePane() ActivePane {
	if ls, ok := in.localSource(); ok {
		return ls.ActivePane()
	}
	return ActivePane{W: 80, H: 23, Count: 10}
}

// displayPanes shows the pane numbers for display-panes-time.
func (in *Input) displayPanes() {
	d := time.Second
	if ls, ok := in.localSource(); ok {
		d = ls.DisplayPanesTime()
	}
	in.numbersTill = in.now().Add(d)
	in.emitView(d)
}

// listKeys opens the key list (list-keys [-T table]); a table that does
// not exist is an error, as in tmux. Mode tables (-t) are not listed.
func (in *Input) listKeys(argv []string) {
	flags, args, err := keys.Getopt(argv, "t:T:")
	if err != nil || len(args) > 0 {
		// What tmux 2.4's command parser says, capitalized by its prompt.
		in.emit(Action{Kind: ActMessage, Message: "Usage: list-keys [-t mode-table] [-T key-table]"})
		return
	}
	if _, mode := flags['t']; mode {
		in.emit(Action{Kind: ActMessage, Message: "list-keys -t is not shown to guests"})
		return
	}
	var all []keys.Binding
	if ls, ok := in.localSource(); ok {
		all = ls.KeyBindings()
	}
	table, only := flags['T']
	lines := keyListLines(all, table)
	if only && len(lines) == 0 {
		in.emit(Action{Kind: ActMessage, Message: "Table " + table + " doesn't exist"})
		return
	}
	ap := in.activePane()
	if lines == nil {
		lines = []string{}
	}
	in.list = &keyList{lines: lines, pane: ap.ID, oy: listHistory(lines, ap.W, ap.H)}
	in.emitView(0)
}

// run dispatches a binding's commands.
func (in *Input) run(bd keys.Binding) {
	in.runCommands(bd.Commands())
}

// promptKey gives k to the open prompt; when it finishes, the prompt
// closes and its command runs.
func (in *Input) promptKey(k keys.Key) {
	done, cmd := in.prompt.key(k)
	if !done {
		in.emit(Action{Kind: ActPrompt, Prompt: in.prompt.view()})
		return
	}
	in.prompt = nil
	in.emit(Action{Kind: ActPrompt})
	if cmd != "" {
		in.runCommands(keys.SplitCommands(splitCommand(cmd)))
	}
}

// openPrompt starts a status-line prompt (not for a read-only guest,
// whose prompt could run nothing).
func (in *Input) openPrompt(p *prompt) {
	if in.readOnly {
		return
	}
	p.history = &in.history
	in.prompt = p
	in.emit(Action{Kind: ActPrompt, Prompt: p.view()})
}

// runCommands dispatches commands: to the guest itself, or to the host.
func (in *Input) runCommands(cmds [][]string) {
	for _, argv := range cmds {
		name := keys.CommandName(argv[0])
		switch {
		case name == "confirm-before":
			// tmux 2.4: -p's prompt and a space, else "Confirm 'CMD'? (y/n) ".
			flags, args, err := keys.Getopt(argv, "p:t:")
			if err != nil || len(args) == 0 {
				break
			}
			text, ok := flags['p']
			if ok {
				text += " "
			} else {
				text = "Confirm '" + strings.Fields(args[0] + " x")[0] + "'? (y/n) "
			}
			in.openPrompt(&prompt{text: text, single: true, confirm: true, template: args[0]})
		case name == "command-prompt" && in.localPrompt(argv):
			// tmux 2.4: -p's prompt and a space, else "(first word) " of
			// the template, else ":"; -I is the text to start from.
			flags, args, _ := keys.Getopt(argv, "1iI:p:t:")
			p := &prompt{text: ":", single: hasFlag(argv, '1', "I:p:t:")}
			if len(args) > 0 {
				p.template = args[0]
				p.text = "(" + strings.Fields(args[0] + " x")[0] + ") "
			}
			if text, ok := flags['p']; ok {
				p.text = text + " "
			}
			p.buf = []rune(in.expand(flags['I']))
			p.idx = len(p.buf)
			in.openPrompt(p)
		case name == "detach-client":
			in.emit(Action{Kind: ActDetach})
		case name == "display-panes":
			in.displayPanes()
		case name == "list-keys":
			in.listKeys(argv)
		case name == "send-prefix":
			p, p2 := in.b.Prefix()
			if hasFlag(argv, '2', "") {
				p = p2
			}
			if p != keys.KeyNone {
				in.emit(Action{Kind: ActPaneKey, Key: p})
			}
		case name == "switch-client" && hasFlag(argv, 'T', "lc:Enpt:rT:"):
			// tmux 2.x: -T sets this client's key table and does nothing else.
			in.table = flagValue(argv, 'T', "lc:Enpt:rT:")
			in.repeating = false
		case localCommands[name]:
			local := append([]string{name}, argv[1:]...)
			in.emit(Action{Kind: ActLocal, Argv: local})
		default:
			in.emit(Action{Kind: ActExec, Argv: append([]string(nil), argv...)})
		}
		if in.detached {
			return
		}
	}
}

// Expander is what Input may read of the session to expand formats in a
// prompt's initial text (-I "#W"); LockedTable implements it.
type Expander interface {
	ExpandFormat(s string) string
}

// expand expands s's formats, if the Bindings can.
func (in *Input) expand(s string) string {
	if e, ok := in.b.(Expander); ok && strings.Contains(s, "#") {
		return e.ExpandFormat(s)
	}
	return s
}

// localPrompt reports whether the guest can run a command-prompt itself:
// one prompt (-p without a comma), an -I whose formats it can expand, and
// no -i (incremental prompts run on every key). Others go to the host.
func (in *Input) localPrompt(argv []string) bool {
	flags, args, err := keys.Getopt(argv, "1iI:p:t:")
	if err != nil || len(args) > 1 {
		return false
	}
	_, inc := flags['i']
	return !inc && !strings.Contains(flags['p'], ",") && !strings.Contains(in.expand(flags['I']), "#")
}

// hasFlag reports whether tmux-style flags in argv[1:] include f. spec lists
// the flags that take a value ("t:"), so "-t -T" is not -T; "" means none do.
func hasFlag(argv []string, f byte, spec string) bool {
	_, ok := flag(argv, f, spec)
	return ok
}

func flagValue(argv []string, f byte, spec string) string {
	v, _ := flag(argv, f, spec)
	return v
}

func flag(argv []string, f byte, spec string) (string, bool) {
	for i := 1; i < len(argv); i++ {
		a := argv[i]
		if a == "--" || len(a) < 2 || a[0] != '-' {
			return "", false
		}
		for j := 1; j < len(a); j++ {
			p := strings.IndexByte(spec, a[j])
			takes := p >= 0 && p+1 < len(spec) && spec[p+1] == ':'
			if !takes {
				if a[j] == f {
					return "", true
				}
				continue
			}
			v := a[j+1:]
			if v == "" && i+1 < len(argv) {
				i++
				v = argv[i]
			}
			if a[j] == f {
				return v, true
			}
			break
		}
	}
	return "", false
}

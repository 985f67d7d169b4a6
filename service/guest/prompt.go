package guest

import (
	"sort"
	"strings"
	"unicode/utf8"

	"tmate-relay/service/keys"
)

// Prompt is a status-line prompt open on one guest (confirm-before,
// command-prompt), as the View carries it: the prompt string, what the
// guest typed so far and the cursor's place in it (in characters).
type Prompt struct {
	Text   string
	Buffer string
	Cursor int
}

// prompt is the editing state of an open prompt, tmux 2.4's
// status_prompt_key with its emacs-edit keys (C-y, which pastes the host's
// buffer, does nothing here; words end at the default word-separators).
type prompt struct {
	text     string
	buf      []rune
	idx      int
	single   bool   // PROMPT_SINGLE (confirm-before): one key answers
	template string // the command to run; "" means what was typed (command-prompt)
	confirm  bool   // run template only when the answer is y
	history  *promptHistory
	hindex   int // 0: the line being typed; n: the nth line back in history
}

// MaxPromptLength bounds what a guest types at a prompt, in characters:
// far more than a status line shows, while a guest typing at its input
// rate for hours cannot grow the relay (each key copies the line).
const MaxPromptLength = 4096

func (p *prompt) view() Prompt {
	return Prompt{Text: p.text, Buffer: string(p.buf), Cursor: p.idx}
}

// promptKey feeds k to the open prompt. It reports whether the prompt is
// finished, and then the command string to run ("" for none).
func (p *prompt) key(k keys.Key) (done bool, cmd string) {
	switch k {
	case keys.Escape, 3 /* C-c */ :
		return true, ""
	case keys.Enter, 10 /* C-j */, keys.KPEnter:
		if p.history != nil && len(p.buf) > 0 {
			p.history.add(string(p.buf))
		}
		return p.finish()
	case keys.Up, 16 /* C-p */ :
		if line, ok := p.history.up(&p.hindex); ok {
			p.set(line)
		}
	case keys.Down, 14 /* C-n */ :
		if line, ok := p.history.down(&p.hindex); ok {
			p.set(line)
		}
	case keys.Tab:
		p.complete()
	case keys.Left, 2 /* C-b */ :
		if p.idx > 0 {
			p.idx--
		}
	case keys.Right, 6 /* C-f */ :
		if p.idx < len(p.buf) {
			p.idx++
		}
	case keys.Home, 1 /* C-a */, 'm' | keys.Meta:
		p.idx = 0
	case 'b' | keys.Meta:
		p.idx = p.wordStart(p.idx)
	case 'f' | keys.Meta:
		// tmux's next-word-end: past the next word.
		for p.idx != len(p.buf) {
			p.idx++
			if !p.separator(p.idx) {
				break
			}
		}
		for p.idx != len(p.buf) {
			p.idx++
			if p.separator(p.idx) {
				break
			}
		}
	case 20: // C-t: swap the characters before the cursor (or around it)
		i := p.idx
		if i < len(p.buf) {
			i++
		}
		if i >= 2 {
			p.buf[i-2], p.buf[i-1] = p.buf[i-1], p.buf[i-2]
			p.idx = i
		}
	case keys.End, 5 /* C-e */ :
		p.idx = len(p.buf)
	case keys.BSpace, 8 /* C-h */ :
		if p.idx > 0 {
			p.buf = append(p.buf[:p.idx-1], p.buf[p.idx:]...)
			p.idx--
		}
	case keys.DC, 4 /* C-d */ :
		if p.idx < len(p.buf) {
			p.buf = append(p.buf[:p.idx], p.buf[p.idx+1:]...)
		}
	case 11: // C-k
		p.buf = p.buf[:p.idx]
	case 21: // C-u
		p.buf, p.idx = p.buf[:0], 0
	case 23: // C-w: delete the word before the cursor
		i := p.wordStart(p.idx)
		p.buf = append(p.buf[:i], p.buf[p.idx:]...)
		p.idx = i
	default:
		if k <= 0x1f || k >= keys.KeycBase || k == 127 || k > utf8.MaxRune {
			return false, "" // other keys do nothing
		}
		if len(p.buf) >= MaxPromptLength {
			return false, "" // a full line takes no more
		}
		p.buf = append(p.buf, 0)
		copy(p.buf[p.idx+1:], p.buf[p.idx:])
		p.buf[p.idx] = rune(k)
		p.idx++
		if p.single {
			if len(p.buf) != 1 {
				return true, ""
			}
			return p.finish()
		}
	}
	return false, ""
}

// wordSeparators is tmux 2.4's default word-separators option.
const wordSeparators = " -_@"

// separator reports whether the character at i separates words; the end
// of the buffer does, as tmux's strchr finds its NUL.
func (p *prompt) separator(i int) bool {
	return i >= len(p.buf) || strings.ContainsRune(wordSeparators, p.buf[i])
}

// wordStart is where the word before i starts (tmux's previous-word).
func (p *prompt) wordStart(i int) int {
	for i != 0 {
		i--
		if !p.separator(i) {
			break
		}
	}
	for i != 0 {
		i--
		if p.separator(i) {
			return i + 1
		}
	}
	return i
}

// set replaces what was typed, the cursor at its end.
func (p *prompt) set(s string) {
	p.buf = []rune(s)
	p.idx = len(p.buf)
}

// finish is the prompt's callback with what was typed.
func (p *prompt) finish() (bool, string) {
	s := string(p.buf)
	if p.confirm {
		if s != "y" && s != "Y" {
			return true, ""
		}
		return true, p.template
	}
	if s == "" {
		return true, ""
	}
	if p.template != "" {
		return true, templateReplace(p.template, s)
	}
	return true, s
}

// splitCommand splits a command string into words like tmux's
// cmd_string_split, simplified: blanks separate words, '...' is literal,
// "..." and bare words take backslash escapes, a word starting with # ends
// the line. A ';' word (or a word ending in an unescaped ';') separates
// commands, as keys.SplitCommands reads it.
func splitCommand(s string) []string {
	var out []string
	var cur strings.Builder
	in := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		case c == '#' && !in:
			return out
		case c == '\'':
			in = true
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				cur.WriteString(s[i+1:])
				i = len(s)
			} else {
				cur.WriteString(s[i+1 : i+1+j])
				i += j + 1
			}
		case c == '"':
			in = true
			for i++; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				cur.WriteByte(s[i])
			}
		case c == '\\' && i+1 < len(s):
			in = true
			i++
			if s[i] == ';' && (i+1 == len(s) || s[i+1] == ' ' || s[i+1] == '\t') {
				cur.WriteString(`\;`) // keys.SplitCommands keeps it literal
			} else {
				cur.WriteByte(s[i])
			}
		default:
			in = true
			cur.WriteByte(c)
		}
	}
	if in {
		out = append(out, cur.String())
	}
	return out
}

// templateReplace is tmux 2.4's cmd_template_replace for the first
// answer: %1 and the first %% become s; %%% inserts s with ", \ and $
// escaped for a double-quoted string.
func templateReplace(template, s string) string {
	var b strings.Builder
	replaced := false
	for i := 0; i < len(template); i++ {
		c := template[i]
		if c != '%' || i+1 >= len(template) {
			b.WriteByte(c)
			continue
		}
		n := template[i+1]
		if n != '1' && (n != '%' || replaced) {
			b.WriteByte(c)
			continue
		}
		if n == '%' {
			replaced = true
		}
		i++
		if i+1 < len(template) && template[i+1] == '%' {
			i++
			for j := 0; j < len(s); j++ {
				if strings.IndexByte("\"\\$", s[j]) >= 0 {
					b.WriteByte('\\')
				}
				b.WriteByte(s[j])
			}
			continue
		}
		b.WriteString(s)
	}
	return b.String()
}

// promptHistory is the lines a guest entered at its prompts, oldest
// first, at most promptHistoryMax: tmux 2.4's status_prompt_hlist, kept
// per guest.
type promptHistory struct{ lines []string }

const promptHistoryMax = 100 // tmux's PROMPT_HISTORY

// add records a line, unless it repeats the last one.
func (h *promptHistory) add(line string) {
	if n := len(h.lines); n > 0 && h.lines[n-1] == line {
		return
	}
	if len(h.lines) == promptHistoryMax {
		h.lines = append(h.lines[:0], h.lines[1:]...)
	}
	h.lines = append(h.lines, line)
}

// up is status_prompt_up_history: the line one further back, if any.
func (h *promptHistory) up(idx *int) (string, bool) {
	if h == nil || len(h.lines) == 0 || *idx == len(h.lines) {
		return "", false
	}
	*idx++
	return h.lines[len(h.lines)-*idx], true
}

// down is status_prompt_down_history: the line one nearer, "" past the
// newest.
func (h *promptHistory) down(idx *int) (string, bool) {
	if h == nil || len(h.lines) == 0 || *idx == 0 {
		return "", true
	}
	*idx--
	if *idx == 0 {
		return "", true
	}
	return h.lines[len(h.lines)-*idx], true
}

// complete is tmux 2.4's MODEKEYEDIT_COMPLETE: the word the cursor is in
// (or just after) is completed from the names of commands, options and
// layouts; one match is completed with a space after it, several to their
// longest common prefix. Targets (-t, -s) are not completed: the guest
// does not know the host's other sessions.
func (p *prompt) complete() {
	if len(p.buf) == 0 {
		return
	}
	idx := p.idx
	if idx != 0 {
		idx--
	}
	first := idx
	for first > 0 && p.buf[first] != ' ' {
		first--
	}
	for first < len(p.buf) && p.buf[first] == ' ' {
		first++
	}
	last := idx
	for last < len(p.buf) && p.buf[last] != ' ' {
		last++
	}
	if last <= first {
		return
	}
	word := string(p.buf[first:last])
	out, ok := completeWord(word)
	if !ok {
		return
	}
	rest := append([]rune(out), p.buf[last:]...)
	p.buf = append(p.buf[:first], rest...)
	p.idx = first + len([]rune(out))
}

// completeWord is status_prompt_complete for a command, option or layout
// name.
func completeWord(word string) (string, bool) {
	if strings.HasPrefix(word, "-t") || strings.HasPrefix(word, "-s") {
		return "", false
	}
	var matches []string
	for _, list := range [][]string{commandList, optionNames, layoutNames} {
		for _, name := range list {
			if strings.HasPrefix(name, word) {
				matches = append(matches, name)
			}
		}
	}
	switch len(matches) {
	case 0:
		return "", false
	case 1:
		return matches[0] + " ", true
	}
	out := matches[0]
	for _, m := range matches[1:] {
		n := 0
		for n < len(out) && n < len(m) && out[n] == m[n] {
			n++
		}
		out = out[:n]
	}
	return out, true
}

// commandList is the command names in tmux's cmd_table order.
var commandList = func() []string {
	names := make([]string, 0, len(argSpecs))
	for name := range argSpecs {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}()

// optionNames are tmate 2.4.0's options, in its options_table order.
var optionNames = strings.Fields(`buffer-limit default-terminal escape-time
exit-unattached focus-events history-file message-limit quiet set-clipboard
terminal-overrides assume-paste-time base-index bell-action bell-on-alert
default-command default-shell destroy-unattached detach-on-destroy
display-panes-active-colour display-panes-colour display-panes-time
display-time history-limit key-table lock-after-time lock-command
message-attr message-bg message-command-attr message-command-bg
message-command-fg message-command-style message-fg message-style mouse
prefix prefix2 renumber-windows repeat-time set-remain-on-exit set-titles
set-titles-string status status-attr status-bg status-fg status-interval
status-justify status-keys status-left status-left-attr status-left-bg
status-left-fg status-left-length status-left-style status-position
status-right status-right-attr status-right-bg status-right-fg
status-right-length status-right-style status-style update-environment
visual-activity visual-bell visual-silence word-separators
aggressive-resize allow-rename alternate-screen automatic-rename
automatic-rename-format clock-mode-colour clock-mode-style force-height
force-width main-pane-height main-pane-width mode-attr mode-bg mode-fg
mode-keys mode-style monitor-activity monitor-silence other-pane-height
other-pane-width pane-active-border-bg pane-active-border-fg
pane-active-border-style pane-base-index pane-border-bg pane-border-fg
pane-border-style remain-on-exit synchronize-panes window-active-style
window-style window-status-activity-attr window-status-activity-bg
window-status-activity-fg window-status-activity-style
window-status-attr window-status-bell-attr window-status-bell-bg
window-status-bell-fg window-status-bell-style window-status-bg
window-status-current-attr window-status-current-bg
window-status-current-fg window-status-current-format
window-status-current-style window-status-fg window-status-format
window-status-last-attr window-status-last-bg window-status-last-fg
window-status-last-style window-status-separator window-status-style
wrap-search xterm-keys tmate-identity tmate-server-host tmate-server-port
tmate-server-dsa-fingerprint tmate-server-rsa-fingerprint
tmate-server-ecdsa-fingerprint tmate-server-ed25519-fingerprint
tmate-display-time tmate-webhook-userdata tmate-webhook-url tmate-api-key
tmate-session-name tmate-session-name-ro tmate-authorized-keys tmate-set
tmate-foreground-restart`)

var layoutNames = []string{"even-horizontal", "even-vertical", "main-horizontal", "main-vertical", "tiled"}

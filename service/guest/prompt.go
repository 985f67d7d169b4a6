package guest

import (
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
// status_prompt_key with emacs keys.
type prompt struct {
	text     string
	buf      []rune
	idx      int
	single   bool   // PROMPT_SINGLE (confirm-before): one key answers
	template string // the command to run; "" means what was typed (command-prompt)
	confirm  bool   // run template only when the answer is y
}

func (p *prompt) view() Prompt {
	return Prompt{Text: p.text, Buffer: string(p.buf), Cursor: p.idx}
}

// promptKey feeds k to the open prompt. It reports whether the prompt is
// finished, and then the command string to run ("" for none).
func (p *prompt) key(k keys.Key) (done bool, cmd string) {
	switch k {
	case keys.Escape, 3 /* C-c */, 7 /* C-g */ :
		return true, ""
	case keys.Enter, 10 /* C-j */, keys.KPEnter:
		return p.finish()
	case keys.Left, 2 /* C-b */ :
		if p.idx > 0 {
			p.idx--
		}
	case keys.Right, 6 /* C-f */ :
		if p.idx < len(p.buf) {
			p.idx++
		}
	case keys.Home, 1 /* C-a */ :
		p.idx = 0
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
		i := p.idx
		for i > 0 && p.buf[i-1] == ' ' {
			i--
		}
		for i > 0 && p.buf[i-1] != ' ' {
			i--
		}
		p.buf = append(p.buf[:i], p.buf[p.idx:]...)
		p.idx = i
	default:
		if k <= 0x1f || k >= keys.KeycBase || k == 127 || k > utf8.MaxRune {
			return false, "" // other keys do nothing
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

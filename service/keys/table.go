package keys

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Default key options of tmux 2.x.
const (
	DefaultPrefix     Key           = 0x02 // C-b
	DefaultRepeatTime time.Duration = 500 * time.Millisecond
)

// Binding is one key binding the host replicated.
type Binding struct {
	Table   string // key table: "prefix", "root", ... or a mode table with Mode
	Key     Key
	Repeat  bool     // bind-key -r: the table stays active for repeat-time
	Command []string // argv after the key, as the host sent it; see Commands
	Mode    bool     // bind-key -t: a tmux 2.x mode-key table (vi-copy, ...), kept for listing only
}

// Commands returns the binding's commands, split at ';' as tmux does.
func (b Binding) Commands() [][]string { return SplitCommands(b.Command) }

// String is the binding as tmux list-keys shows it:
// "bind-key -r -T prefix Up select-pane -U".
func (b Binding) String() string {
	var sb strings.Builder
	sb.WriteString("bind-key ")
	if b.Repeat {
		sb.WriteString("-r ")
	}
	if b.Mode {
		sb.WriteString("-t ")
	} else {
		sb.WriteString("-T ")
	}
	sb.WriteString(b.Table)
	sb.WriteByte(' ')
	sb.WriteString(b.Key.String())
	for i, c := range b.Commands() {
		if i > 0 {
			sb.WriteString(" ;")
		}
		for _, a := range c {
			sb.WriteByte(' ')
			sb.WriteString(quoteArg(a))
		}
	}
	return sb.String()
}

func quoteArg(a string) string {
	if a == "" {
		return `""`
	}
	if !strings.ContainsAny(a, " \t\"'#;$\\{}") {
		return a
	}
	return strconv.Quote(a)
}

// Table is the session's key tables, prefix keys and repeat-time, as the host
// replicates them. It is safe for concurrent use: the host's reader applies
// commands while guests look keys up.
type Table struct {
	mu     sync.RWMutex
	tables map[string]map[Key]Binding
	modes  map[string]map[Key]Binding
	// Session options override global ones (set-option with and without -g).
	prefix, prefix2, repeat [2]optVal // [0] global, [1] session
	// bytes is what the bindings keep (bindingBytes), maxBytes its bound
	// (0: none): a host's bind-key commands, each up to a message in size
	// and in tables of any name, must not grow the relay without end.
	bytes, maxBytes int
}

// SetMaxBytes bounds the bytes the bindings keep; a bind-key past it is
// refused (ErrTooLarge), as one tmux refuses: guests do without it.
func (t *Table) SetMaxBytes(n int) {
	t.mu.Lock()
	t.maxBytes = n
	t.mu.Unlock()
}

// Bytes is what the bindings keep: their tables' names and commands.
func (t *Table) Bytes() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.bytes
}

// ErrTooLarge is a bind-key that would take the key table past its bound.
var ErrTooLarge = errors.New("the key table is over its size limit")

// bindingOverhead approximates a binding's fixed cost: its map entry,
// key, flags and slice headers.
const bindingOverhead = 64

func bindingBytes(b Binding) int {
	n := bindingOverhead + len(b.Table)
	for _, a := range b.Command {
		n += len(a) + 16
	}
	return n
}

type optVal struct {
	set bool
	v   int64
}

// NewTable returns an empty table with tmux's default options (prefix C-b,
// no prefix2, repeat-time 500 ms) and no bindings: the host sends its whole
// key table, defaults included, when it connects.
func NewTable() *Table {
	return &Table{tables: map[string]map[Key]Binding{}, modes: map[string]map[Key]Binding{}}
}

// Lookup returns the binding of k in the named key table.
func (t *Table) Lookup(table string, k Key) (Binding, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	b, ok := t.tables[table][k]
	return b, ok
}

// Prefix returns the prefix and prefix2 keys (KeyNone when unset).
func (t *Table) Prefix() (Key, Key) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return Key(t.get(&t.prefix, int64(DefaultPrefix))), Key(t.get(&t.prefix2, int64(KeyNone)))
}

// RepeatTime returns the repeat-time option.
func (t *Table) RepeatTime() time.Duration {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return time.Duration(t.get(&t.repeat, int64(DefaultRepeatTime/time.Millisecond))) * time.Millisecond
}

func (t *Table) get(o *[2]optVal, def int64) int64 {
	if o[1].set {
		return o[1].v
	}
	if o[0].set {
		return o[0].v
	}
	return def
}

// Tables returns the names of the key tables that have bindings, sorted.
func (t *Table) Tables() []string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]string, 0, len(t.tables))
	for name := range t.tables {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// List returns every binding as tmux list-keys orders them: key tables by
// name, then keys by code; mode tables (Mode) after them.
func (t *Table) List() []Binding {
	t.mu.RLock()
	defer t.mu.RUnlock()
	var out []Binding
	for _, m := range []map[string]map[Key]Binding{t.tables, t.modes} {
		start := len(out)
		for _, tab := range m {
			for _, b := range tab {
				out = append(out, b)
			}
		}
		part := out[start:]
		sort.Slice(part, func(i, j int) bool {
			if part[i].Table != part[j].Table {
				return part[i].Table < part[j].Table
			}
			return part[i].Key < part[j].Key
		})
	}
	return out
}

// ErrCommand is wrapped by Apply's errors for a command tmux would reject.
var ErrCommand = errors.New("bad key command")

// Apply applies one command the host replicated (EXEC_CMD argv). handled is
// true when the command is a key binding command (bind-key, unbind-key) or
// sets prefix / prefix2; the caller can then ignore it. repeat-time is
// recorded too but reported as not handled, so a general option store sees it
// as well. A handled command tmux would reject returns an error and leaves the
// table unchanged.
func (t *Table) Apply(argv []string) (handled bool, err error) {
	if len(argv) == 0 {
		return false, nil
	}
	switch CommandName(argv[0]) {
	case "bind-key":
		return true, t.bind(argv)
	case "unbind-key":
		return true, t.unbind(argv)
	case "set-option":
		return t.setOption(argv)
	}
	return false, nil
}

func cmdErr(argv []string, format string, a ...any) error {
	return fmt.Errorf("%s: %w: %s", argv[0], ErrCommand, fmt.Sprintf(format, a...))
}

// Getopt parses tmux-style flags: spec like "cnrt:T:" (':' = takes a
// value), clustered as a user writes them or one per argument as tmate
// replicates them. Flags stop at the first non-flag argument or "--".
func Getopt(argv []string, spec string) (flags map[byte]string, args []string, err error) {
	flags = map[byte]string{}
	i := 1
	for ; i < len(argv); i++ {
		a := argv[i]
		if a == "--" {
			i++
			break
		}
		if len(a) < 2 || a[0] != '-' {
			break
		}
		for j := 1; j < len(a); j++ {
			p := strings.IndexByte(spec, a[j])
			if p < 0 || a[j] == ':' {
				return nil, nil, cmdErr(argv, "unknown flag -%c", a[j])
			}
			if p+1 < len(spec) && spec[p+1] == ':' {
				if j+1 < len(a) {
					flags[a[j]] = a[j+1:]
				} else if i+1 < len(argv) {
					i++
					flags[a[j]] = argv[i]
				} else {
					return nil, nil, cmdErr(argv, "-%c needs a value", a[j])
				}
				break
			}
			flags[a[j]] = ""
		}
	}
	return flags, argv[i:], nil
}

func has(flags map[byte]string, f byte) bool {
	_, ok := flags[f]
	return ok
}

func bindKey(argv []string, name string) (Key, error) {
	k, err := Parse(name)
	if err == nil && k == KeyNone {
		err = fmt.Errorf("%w: %q", ErrUnknownKey, name)
	}
	if err != nil {
		return 0, fmt.Errorf("%s: %w", argv[0], err)
	}
	return k, nil
}

func keyTable(flags map[byte]string) string {
	switch {
	case has(flags, 'T'):
		return flags['T']
	case has(flags, 'n'):
		return "root"
	}
	return "prefix"
}

func (t *Table) bind(argv []string) error {
	flags, args, err := Getopt(argv, "cnrt:T:")
	if err != nil {
		return err
	}
	mode := has(flags, 't')
	if len(args) < 2 || mode && len(args) > 3 {
		return cmdErr(argv, "wrong number of arguments")
	}
	k, err := bindKey(argv, args[0])
	if err != nil {
		return err
	}
	b := Binding{Key: k, Repeat: has(flags, 'r'), Command: append([]string(nil), args[1:]...), Mode: mode}
	t.mu.Lock()
	defer t.mu.Unlock()
	m := t.tables
	b.Table = keyTable(flags)
	if mode {
		m, b.Table = t.modes, flags['t']
	}
	grown := t.bytes + bindingBytes(b)
	if old, ok := m[b.Table][k]; ok {
		grown -= bindingBytes(old)
	}
	if t.maxBytes > 0 && grown > t.maxBytes {
		return fmt.Errorf("%s: %w (%d bytes)", argv[0], ErrTooLarge, t.maxBytes)
	}
	t.bytes = grown
	if m[b.Table] == nil {
		m[b.Table] = map[Key]Binding{}
	}
	m[b.Table][k] = b
	return nil
}

func (t *Table) unbind(argv []string) error {
	flags, args, err := Getopt(argv, "acnt:T:")
	if err != nil {
		return err
	}
	all := has(flags, 'a')
	if len(args) > 1 || all != (len(args) == 0) {
		return cmdErr(argv, "wrong number of arguments")
	}
	var k Key
	if !all {
		if k, err = bindKey(argv, args[0]); err != nil {
			return err
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if has(flags, 't') {
		name := flags['t']
		if all {
			t.deleteTable(t.modes, name)
		} else {
			t.deleteKey(t.modes, name, k)
		}
		return nil
	}
	if all {
		if !has(flags, 'T') {
			t.deleteTable(t.tables, "root")
			t.deleteTable(t.tables, "prefix")
			return nil
		}
		if t.tables[flags['T']] == nil {
			return cmdErr(argv, "table %s doesn't exist", flags['T'])
		}
		t.deleteTable(t.tables, flags['T'])
		return nil
	}
	name := keyTable(flags)
	if has(flags, 'T') && t.tables[name] == nil {
		return cmdErr(argv, "table %s doesn't exist", name)
	}
	t.deleteKey(t.tables, name, k)
	return nil
}

// deleteTable removes a table and its bindings.
func (t *Table) deleteTable(m map[string]map[Key]Binding, name string) {
	for _, b := range m[name] {
		t.bytes -= bindingBytes(b)
	}
	delete(m, name)
}

// deleteKey removes a binding; a table left empty goes away, as in tmux.
func (t *Table) deleteKey(m map[string]map[Key]Binding, name string, k Key) {
	if b, ok := m[name][k]; ok {
		t.bytes -= bindingBytes(b)
	}
	delete(m[name], k)
	if len(m[name]) == 0 {
		delete(m, name)
	}
}

func (t *Table) setOption(argv []string) (bool, error) {
	flags, args, err := Getopt(argv, "agoqst:uw")
	if err != nil || len(args) == 0 {
		return false, nil // not ours to judge
	}
	if has(flags, 'w') || has(flags, 's') {
		return false, nil
	}
	var o *[2]optVal
	switch args[0] {
	case "prefix":
		o = &t.prefix
	case "prefix2":
		o = &t.prefix2
	case "repeat-time":
		o = &t.repeat
	default:
		return false, nil
	}
	handled := o != &t.repeat
	scope := 1
	if has(flags, 'g') {
		scope = 0
	}
	if has(flags, 'u') {
		t.mu.Lock()
		o[scope] = optVal{}
		t.mu.Unlock()
		return handled, nil
	}
	if len(args) != 2 {
		return handled, cmdErr(argv, "%s needs one value", args[0])
	}
	var v int64
	if o == &t.repeat {
		n, err := strconv.ParseInt(args[1], 10, 32)
		if err != nil || n < 0 || n > 2147483647 {
			return handled, cmdErr(argv, "bad repeat-time %q", args[1])
		}
		v = n
	} else {
		k, err := Parse(args[1])
		if err != nil {
			return handled, fmt.Errorf("%s: %w", argv[0], err)
		}
		v = int64(k)
	}
	t.mu.Lock()
	if !(has(flags, 'o') && o[scope].set) {
		o[scope] = optVal{set: true, v: v}
	}
	t.mu.Unlock()
	return handled, nil
}

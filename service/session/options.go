package session

import (
	"maps"
	"strconv"
	"strings"
	"time"

	"tmate-relay/service/guest"
	"tmate-relay/service/keys"
	"tmate-relay/service/vt"
)

// The options the host replicates (EXEC_CMD set-option / set-window-option)
// that change what guests see.
//
// Precedence, as in tmux 2.x: a session option is read from the session's
// own options (set-option without -g), then the global session options
// (-g), then tmate 2.4.0's default; a window option from the window's own
// options (set-window-option without -g, for the window -t names or the
// one active when the host ran the command), then the global window
// options (-g), then the default. Which scope an option lives in follows
// from its name, as tmux decides it, not from -w. -u removes a local value
// (or puts a global one back to its default), -a appends to a string or
// applies a style over the value already in that scope, -o keeps a value
// already set. The -fg / -bg / -attr forms change their -style option in
// the same scope, as tmux 2.x's style_update_new does. prefix, prefix2 and
// repeat-time are kept by the key table (keys.Table), which reads them the
// same way.

type optKind int

const (
	optString optKind = iota
	optStyle
	optNumber
	optFlag
	optChoice
	optColour // an old -fg / -bg form of a style
	optAttr   // an old -attr form of a style
)

type optDef struct {
	kind    optKind
	window  bool   // window option (else session)
	def     string // default value
	style   string // optColour / optAttr: the -style option it changes
	choices []string
	min     int
}

var optTable = map[string]optDef{}

func init() {
	styles := map[string][2]string{ // name: default, scope ("w" for window)
		"status-style":                 {"bg=green,fg=black", ""},
		"message-style":                {"bg=yellow,fg=black", ""},
		"message-command-style":        {"bg=black,fg=yellow", ""},
		"mode-style":                   {"bg=yellow,fg=black", "w"},
		"pane-border-style":            {"default", "w"},
		"pane-active-border-style":     {"fg=green", "w"},
		"window-status-style":          {"default", "w"},
		"window-status-current-style":  {"default", "w"},
		"window-status-last-style":     {"default", "w"},
		"window-status-activity-style": {"reverse", "w"},
		"window-status-bell-style":     {"reverse", "w"},
		"status-left-style":            {"default", ""},
		"status-right-style":           {"default", ""},
	}
	for name, d := range styles {
		win := d[1] == "w"
		optTable[name] = optDef{kind: optStyle, window: win, def: d[0]}
		base := strings.TrimSuffix(name, "-style")
		optTable[base+"-fg"] = optDef{kind: optColour, window: win, style: name}
		optTable[base+"-bg"] = optDef{kind: optColour, window: win, style: name}
		optTable[base+"-attr"] = optDef{kind: optAttr, window: win, style: name}
	}
	for name, def := range map[string]string{
		"window-status-format":         windowStatusFormatDefault,
		"window-status-current-format": windowStatusFormatDefault,
		"window-status-separator":      " ",
	} {
		optTable[name] = optDef{kind: optString, window: true, def: def}
	}
	optTable["status"] = optDef{kind: optFlag, def: "on"}
	optTable["status-position"] = optDef{kind: optChoice, def: "bottom", choices: []string{"top", "bottom"}}
	optTable["status-justify"] = optDef{kind: optChoice, def: "left", choices: []string{"left", "centre", "right"}}
	optTable["mode-keys"] = optDef{kind: optChoice, window: true, def: "emacs", choices: []string{"emacs", "vi"}}
	optTable["status-keys"] = optDef{kind: optChoice, def: "emacs", choices: []string{"emacs", "vi"}}
	optTable["bell-action"] = optDef{kind: optChoice, def: "any", choices: []string{"none", "any", "current", "other"}}
	for _, name := range []string{"visual-activity", "visual-bell", "visual-silence"} {
		optTable[name] = optDef{kind: optFlag, def: "off"}
	}
	optTable["status-left"] = optDef{kind: optString, def: statusLeftDefault}
	optTable["status-right"] = optDef{kind: optString, def: ` "#{=21:pane_title}" %H:%M %d-%b-%y`}
	optTable["status-interval"] = optDef{kind: optNumber, def: "15"}
	optTable["monitor-activity"] = optDef{kind: optFlag, window: true, def: "off"}
	optTable["monitor-silence"] = optDef{kind: optNumber, window: true, def: "0"}
	optTable["status-left-length"] = optDef{kind: optNumber, def: "10"}
	optTable["status-right-length"] = optDef{kind: optNumber, def: "40"}
	optTable["display-time"] = optDef{kind: optNumber, def: "750"}
	optTable["display-panes-time"] = optDef{kind: optNumber, def: "1000", min: 1}
	optTable["display-panes-colour"] = optDef{kind: optColour, def: "blue"}
	optTable["display-panes-active-colour"] = optDef{kind: optColour, def: "red"}
}

// windowStatusFormatDefault is tmate 2.4.0's window-status-format and
// window-status-current-format.
const windowStatusFormatDefault = "#I:#W#{?window_flags,#{window_flags}, }"

// options is the store of the options above: global, session and
// per-window (by window index) values.
type options struct {
	global  map[string]string
	session map[string]string
	windows map[int]map[string]string
	// bytes is what the values keep (scopeBytes of every scope), maxBytes
	// its bound (0: none): set-option -a and window options for any window
	// index must not grow the relay without end.
	bytes, maxBytes int
}

// windowScopeBytes approximates the fixed cost of one window's options.
const windowScopeBytes = 64

// scopeBytes is what one scope's values keep.
func scopeBytes(scope map[string]string) int {
	n := 0
	for k, v := range scope {
		n += len(k) + len(v) + 32
	}
	return n
}

func newOptions() options {
	return options{global: map[string]string{}, session: map[string]string{}, windows: map[int]map[string]string{}}
}

// apply takes one set-option / set-window-option argv; current is the
// window a command without -t or -g means. It ignores what it does not
// know or what tmux would reject.
func (o *options) apply(argv []string, current int) {
	if len(argv) == 0 {
		return
	}
	switch keys.CommandName(argv[0]) {
	case "set-option", "set-window-option":
	default:
		return
	}
	flags, args, err := keys.Getopt(argv, "agoqst:uw")
	if err != nil || len(args) == 0 || len(args) > 2 {
		return // tmux refused it too
	}
	has := func(f byte) bool { _, ok := flags[f]; return ok }
	name := args[0]
	def, ok := optTable[name]
	if !ok {
		return
	}
	var scope map[string]string
	newWindow := -1 // the window index of a scope made for this command
	switch {
	case has('g'):
		scope = o.global
	case def.window:
		idx := current
		if t, ok := flags['t']; ok {
			if n, ok := windowTarget(t); ok {
				idx = n
			}
		}
		if o.windows[idx] == nil {
			newWindow = idx
			o.windows[idx] = map[string]string{}
		}
		scope = o.windows[idx]
	default:
		scope = o.session
	}
	if o.maxBytes > 0 {
		// A command that would take the options past their bound is
		// undone, as tmux refusing it: guests do without it.
		saved, before := maps.Clone(scope), scopeBytes(scope)
		defer func() {
			grown := o.bytes + scopeBytes(scope) - before
			if newWindow >= 0 {
				grown += windowScopeBytes
			}
			if grown > o.maxBytes {
				clear(scope)
				maps.Copy(scope, saved)
				if newWindow >= 0 {
					delete(o.windows, newWindow)
				}
				return
			}
			o.bytes = grown
		}()
	}
	if has('u') {
		if len(args) != 1 {
			return
		}
		delete(scope, name) // a global value returns to the default
		return
	}
	if has('o') {
		if _, set := scope[name]; set {
			return
		}
	}
	value, hasValue := "", len(args) == 2
	if hasValue {
		value = args[1]
	}
	appendFlag := has('a')
	switch def.kind {
	case optString:
		if !hasValue {
			return
		}
		if appendFlag {
			value = scope[name] + value
		}
		scope[name] = value
	case optStyle:
		if !hasValue || !guest.ValidStyle(value) {
			return
		}
		if cur, set := scope[name]; appendFlag && set {
			value = cur + "," + value
		}
		scope[name] = value
	case optNumber:
		n, err := strconv.Atoi(value)
		if !hasValue || err != nil || n < def.min {
			return
		}
		scope[name] = value
	case optFlag:
		cur := o.lookup(name, scope)
		switch strings.ToLower(value) {
		case "":
			if cur == "on" {
				value = "off"
			} else {
				value = "on"
			}
		case "on", "yes", "1":
			value = "on"
		case "off", "no", "0":
			value = "off"
		default:
			return
		}
		scope[name] = value
	case optChoice:
		if !hasValue {
			// tmux 2.x toggles a two-choice option given no value.
			if len(def.choices) != 2 {
				return
			}
			value = def.choices[0]
			if o.lookup(name, scope) == value {
				value = def.choices[1]
			}
		}
		found := ""
		for _, c := range def.choices {
			if strings.HasPrefix(c, value) && value != "" {
				if found != "" {
					return // ambiguous
				}
				found = c
			}
		}
		if found == "" {
			return
		}
		scope[name] = found
	case optColour:
		if !hasValue || !guest.ValidColour(value) {
			return
		}
		if def.style == "" {
			scope[name] = value
			return
		}
		part := "fg="
		if strings.HasSuffix(name, "-bg") {
			part = "bg="
		}
		o.styleUpdate(scope, has('g'), def.style, part+value)
	case optAttr:
		if !hasValue || !guest.ValidAttributes(value) {
			return
		}
		o.styleUpdate(scope, has('g'), def.style, "none,"+value)
	}
}

// styleUpdate is style_update_new: the -style option of the same scope
// gets one more setting. Missing from a session's or window's own options
// it starts as "default"; the global options always hold every option, so
// there it starts from tmate's default (set -g status-bg red keeps
// fg=black).
func (o *options) styleUpdate(scope map[string]string, global bool, style, setting string) {
	cur, ok := scope[style]
	if !ok {
		cur = "default"
		if global {
			cur = optTable[style].def
		}
	}
	scope[style] = cur + "," + setting
}

// lookup reads name as it applies in scope (a session or window scope,
// or the global one).
func (o *options) lookup(name string, scope map[string]string) string {
	if v, ok := scope[name]; ok {
		return v
	}
	if v, ok := o.global[name]; ok {
		return v
	}
	return optTable[name].def
}

// sessionOpt is a session option's value.
func (o *options) sessionOpt(name string) string { return o.lookup(name, o.session) }

// windowOpt is window idx's value of a window option.
func (o *options) windowOpt(idx int, name string) string {
	return o.lookup(name, o.windows[idx])
}

func (o *options) number(v string) int {
	n, _ := strconv.Atoi(v)
	return n
}

// forgetWindows drops the local options of windows that no longer exist.
func (o *options) forgetWindows(exists func(idx int) bool) {
	for idx := range o.windows {
		if !exists(idx) {
			delete(o.windows, idx)
		}
	}
}

// windowTarget reads a window index out of a -t target ("2", ":2",
// "session:2", "=2"); other forms (names, @ids) are not known here.
func windowTarget(t string) (int, bool) {
	if i := strings.LastIndexByte(t, ':'); i >= 0 {
		t = t[i+1:]
	}
	t = strings.TrimPrefix(t, "=")
	if i := strings.IndexByte(t, '.'); i >= 0 {
		t = t[:i]
	}
	n, err := strconv.Atoi(t)
	return n, err == nil && n >= 0
}

// monitorSilence is window idx's monitor-silence in seconds (0: off).
func (s *Session) monitorSilence(idx int) int {
	return s.opts.number(s.opts.windowOpt(idx, "monitor-silence"))
}

// modeStyle is window idx's mode-style as a cell.
func (s *Session) modeStyle(idx int) vt.Cell {
	return guest.Style(s.opts.windowOpt(idx, "mode-style"), modeStyleDefault)
}

// optionsView fills the View's option fields from o (resolvedOptions).
// The caller holds s.mu.
func (s *Session) optionsView(v *guest.View, o *viewOpts) {
	v.StatusOn, v.StatusTop = o.on, o.top
	v.StatusStyle, v.MessageStyle, v.StatusJustify = o.style, o.messageStyle, o.justify
	v.StatusLeftLength, v.StatusRightLength = o.leftLength, o.rightLength
	v.StatusExpand = false // v is the guest's view of the last frame
	if !s.statusFromHost {
		// No client of the host's draws a status line, so it sends none:
		// guests expand the host's formats themselves, as its client would.
		v.StatusExpand = true
		v.StatusLeft, v.StatusRight = o.left, o.right
		s.statusClock.Do(func() { go s.tickStatusClock() })
	}
	v.StatusClock = o.statusClock()
	v.StatusLeftStyle, v.StatusRightStyle = o.leftStyle, o.rightStyle
	v.Host = s.hostName
	v.SessionName = s.sessionName()
	v.PaneBorderStyle, v.PaneActiveBorderStyle = o.border, o.activeBorder
}

// viewOpts is what frames and output read of the options, resolved by name
// once per change of the host's state and kept until the next: option
// lookups by name, per frame and per window, were a quarter of an echo's
// frame on cold caches.
type viewOpts struct {
	gen                                uint64 // Session.stateGen when read
	on, top                            bool
	style, messageStyle, justify       string
	leftLength, rightLength            int
	left, right, leftStyle, rightStyle string
	border, activeBorder               string
	clockStep                          int64
	// display-panes' colours and the active window's mode-style
	panesColour, panesActiveColour, modeStyle string
	// windows[i] is s.windows[i]'s
	windows []windowOpts
}

// windowOpts is one window's options that its status entry, its alerts and
// its panes read.
type windowOpts struct {
	format, currentFormat, separator string
	style, currentStyle, lastStyle   string
	bellStyle, activityStyle         string
	monitorActivity                  bool
	monitorSilence                   int // seconds, 0: off
	paneBase                         int
	viKeys                           bool    // mode-keys vi
	modeStyle                        vt.Cell // mode-style, for copy mode
}

// resolvedOptions returns the options as they are now, read again only
// after the host changed the session's state. The caller holds s.mu (a
// read lock: guests' frames read them at once, hence the atomic).
func (s *Session) resolvedOptions() *viewOpts {
	if o := s.viewOpts.Load(); o != nil && o.gen == s.stateGen {
		return o
	}
	opts := &s.opts
	o := &viewOpts{
		gen:               s.stateGen,
		on:                opts.sessionOpt("status") == "on",
		top:               opts.sessionOpt("status-position") == "top",
		style:             opts.sessionOpt("status-style"),
		messageStyle:      opts.sessionOpt("message-style"),
		justify:           opts.sessionOpt("status-justify"),
		leftLength:        lengthView(opts.number(opts.sessionOpt("status-left-length"))),
		rightLength:       lengthView(opts.number(opts.sessionOpt("status-right-length"))),
		left:              opts.sessionOpt("status-left"),
		right:             opts.sessionOpt("status-right"),
		leftStyle:         opts.sessionOpt("status-left-style"),
		rightStyle:        opts.sessionOpt("status-right-style"),
		border:            opts.windowOpt(s.activeWindow, "pane-border-style"),
		activeBorder:      opts.windowOpt(s.activeWindow, "pane-active-border-style"),
		panesColour:       opts.sessionOpt("display-panes-colour"),
		panesActiveColour: opts.sessionOpt("display-panes-active-colour"),
		modeStyle:         opts.windowOpt(s.activeWindow, "mode-style"),
		windows:           make([]windowOpts, len(s.windows)),
	}
	for i := range s.windows {
		idx := s.windows[i].idx
		o.windows[i] = windowOpts{
			format:          opts.windowOpt(idx, "window-status-format"),
			currentFormat:   opts.windowOpt(idx, "window-status-current-format"),
			separator:       opts.windowOpt(idx, "window-status-separator"),
			style:           opts.windowOpt(idx, "window-status-style"),
			currentStyle:    opts.windowOpt(idx, "window-status-current-style"),
			lastStyle:       opts.windowOpt(idx, "window-status-last-style"),
			bellStyle:       opts.windowOpt(idx, "window-status-bell-style"),
			activityStyle:   opts.windowOpt(idx, "window-status-activity-style"),
			monitorActivity: opts.windowOpt(idx, "monitor-activity") == "on",
			monitorSilence:  s.monitorSilence(idx),
			paneBase:        s.paneBase(idx),
			viKeys:          opts.windowOpt(idx, "mode-keys") == "vi",
			modeStyle:       s.modeStyle(idx),
		}
	}
	o.clockStep = s.statusClockStep(!s.statusFromHost, o.left, o.right)
	s.viewOpts.Store(o)
	return o
}

// statusClock is the View's StatusClock now: the time by whole clock
// steps, 0 when no status format reads it.
func (o *viewOpts) statusClock() int64 {
	if o.clockStep <= 0 {
		return 0
	}
	t := statusNow().Unix()
	return t - t%o.clockStep
}

// statusNow is the time status formats show (benchmarks stand a clock in).
var statusNow = time.Now

// lengthView maps a length option to View's convention (0: default,
// negative: none).
func lengthView(n int) int {
	if n <= 0 {
		return -1
	}
	return n
}

// windowOptionsView fills a window's status options (status_print) from
// o, its alerts and what its formats read of its active pane.
func (s *Session) windowOptionsView(wv *guest.WindowView, w *window, o *windowOpts) {
	s.alertsView(wv, o)
	s.windowPaneView(wv, w, o)
	wv.Custom = true
	wv.Styles[0] = o.style
	wv.Format = o.format
	if wv.Active {
		wv.Styles[1] = o.currentStyle
		wv.Format = o.currentFormat
	}
	if wv.Last {
		wv.Styles[2] = o.lastStyle
	}
	wv.Separator = o.separator
	if wv.Format == windowStatusFormatDefault && wv.Separator == " " &&
		plainStyle(wv.Styles[0]) && plainStyle(wv.Styles[1]) && plainStyle(wv.Styles[2]) {
		// tmate's defaults: the guest draws them without expanding.
		wv.Custom, wv.Format, wv.Separator, wv.Styles = false, "", "", [3]string{}
	}
}

func plainStyle(s string) bool { return s == "" || s == "default" }

// messageTime is how long a status-line message stays: the host's
// display-time when it set one (0 stays, as in tmux, until the next key;
// here for a minute), else the relay's configured message timeout.
func (s *Session) messageTime() time.Duration {
	o := &s.opts
	v, set := o.session["display-time"]
	if !set {
		v, set = o.global["display-time"]
	}
	if !set {
		return s.cfg.MessageTimeout
	}
	if n := o.number(v); n > 0 {
		return time.Duration(n) * time.Millisecond
	}
	return time.Minute
}

// windowPaneView fills what window w's formats read of its active pane
// (format_defaults_pane for wl->window->active).
func (s *Session) windowPaneView(wv *guest.WindowView, w *window, o *windowOpts) {
	wv.PaneCount = len(w.panes)
	for i, p := range w.panes {
		if p.id != w.activePane {
			continue
		}
		wv.PaneIndex, wv.PaneID = i+o.paneBase, p.id
		if pn := s.panes[p.id]; pn != nil {
			wv.PaneTitle = pn.emu.Title()
		}
	}
}

// tickStatusClock redraws the guests every status-interval seconds while
// they expand the status line themselves, for the clock in it.
func (s *Session) tickStatusClock() {
	defer s.Recover("status clock")
	for {
		s.mu.RLock()
		secs := s.opts.number(s.opts.sessionOpt("status-interval"))
		local := !s.statusFromHost
		s.mu.RUnlock()
		if !local {
			return
		}
		wait := time.Duration(secs) * time.Second
		if secs <= 0 {
			wait = time.Minute // off: look at the option again later
		}
		select {
		case <-s.done:
			return
		case <-time.After(wait):
		}
		if secs > 0 {
			s.changed()
		}
	}
}

// statusClockStep is how often, in seconds, the status formats the guest
// expands change with the time (guest.ClockStep): 0 when they read none.
// The view's clock moves only by whole steps, so that a session showing
// the minutes composes its guests' frames again once a minute, not every
// second.
func (s *Session) statusClockStep(expand bool, left, right string) int64 {
	o := &s.opts
	step := int64(0)
	read := func(format string) {
		if n := guest.ClockStep(format); n > 0 && (step == 0 || n < step) {
			step = n
		}
	}
	if expand {
		read(left)
		read(right)
	}
	for i := range s.windows {
		idx := s.windows[i].idx
		read(o.windowOpt(idx, "window-status-format"))
		read(o.windowOpt(idx, "window-status-current-format"))
	}
	return step
}

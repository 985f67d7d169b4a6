package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// emulationParityCases are the parity workloads for what pane programs do to
// the terminal: every vt corpus stream, then hand-written streams for one
// feature each (modes, margins, tab stops, titles, erase variants...) and
// keys a guest types into a program that changed how keys are encoded.
var emulationParityCases = append(corpusParityCases(), []parityCase{
	stream("origin-mode"),
	stream("decaln"),
	stream("tab-stops"),
	stream("decsc-decrc"),
	stream("emoji-combining"),
	stream("wide-edge"),
	redrawn(stream("margins"), "a DL below the scroll region deletes lines in tmate's grid, but its client sends the DL "+
		"to a terminal whose margins are the region's, where it does nothing"),
	stream("alt-screen"),
	stream("insert-replace"),
	stream("dec-line-drawing"),
	stream("ris"),
	redrawn(stream("erase"), "an EL sent while the pane's cursor waits to wrap clears the last column on a live tmate "+
		"client's terminal but not in tmate's grid (as for top)"),
	stream("sgr-edges"),
	stream("cursor-styles"),
	stream("controls-in-sequences"),
	stream("cursor-moves"),
	stream("region-edges"),
	stream("tab-edges"),
	stream("wide-edges"),
	redrawn(stream("wide-halves"), "a character written over the right half of a wide one: tmate's live client "+
		"keeps the wide one on its terminal, its grid (and a redraw) blanks it"),
	stream("pen-edges"),
	stream("private-modes"),
	stream("escape-bytes"),
	redrawn(stream("strings"), "tmux's passthrough (ESC P tmux; ... ESC \\) writes its bytes to a tmate client's terminal "+
		"as they are, changing its pen under the client's feet; the grid is unchanged"),
	// The default status-right shows the pane's title (#T).
	{name: "osc-titles", steps: []step{typed(`printf '\033]0;title-zero\007'; printf '\033]2;title-two\033\\'; printf '\033]1;icon-only\007'; echo osc-done`)},
		wait: `"title-two"`},
	{name: "osc-title-long", steps: []step{typed(`printf '\033]2;'; printf 'ç-%s ' $(seq 1 120); printf '\007'; echo long-title-$((1+1))`)}, wait: "long-title-2"},
	keysRow("app-cursor-keys", `\033[?1h`, []string{"Up", "Down", "Right", "Left"}, "^[OA^[OB^[OC^[OD"),
	keysRow("normal-cursor-keys", `\033[?1h\033[?1l`, []string{"Up", "Down", "Right", "Left"}, "^[[A^[[B^[[C^[[D"),
	keysRow("app-keypad", `\033=`, []string{"KP1", "KP5", "KPEnter"}, "^[Oq^[Ou^[OM"),
	keysRow("normal-keypad", `\033=\033>`, []string{"KP1", "KP5"}, "15"),
	keysRow("mouse-modes-keys", `\033[?1000h\033[?1002h\033[?1006h`, []string{"-l", "typed with mouse on"}, "typed with mouse on"),
	keysRow("mouse-any-keys", `\033[?1003h\033[?1005h`, []string{"Home", "End", "F1"}, "^[[1~^[[4~^[OP"),
	// A tmate client passes the paste markers on to the pane (as M-[ and
	// "200~"), and so does the relay.
	keysRow("bracketed-paste", `\033[?2004h`, []string{"-l", "\x1b[200~pasted text\x1b[201~"}, "^[[200~pasted text^[[201~"),
	keysRow("bracketed-paste-off", `\033[?2004h\033[?2004l`, []string{"-l", "typed text"}, "typed text"),
	// A real paste into the guest's terminal (tmux's paste-buffer -p
	// brackets it only when the terminal was asked for bracketed paste):
	// the relay asks the guest's terminal for it while the active pane's
	// program does, as a tmate client asks its own.
	pasteRow("bracketed-paste-buffer", `\033[?2004h`, "^[[200~a paste^[[201~"),
	pasteRow("bracketed-paste-buffer-off", `\033[?2004h\033[?2004l`, "a paste"),
}...)

func init() {
	// Splitting a wide character with DCH or ECH leaves tmate's grid
	// with a wide cell and a cell over its right half (or an orphaned
	// right half); its client draws the cells one after the other,
	// shifting the rest of the line, while the guest draws each cell
	// where the grid has it.
	parityKnownDiffs["wide-halves"] = "DCH or ECH over half a wide character: tmate's client draws the line shifted from its grid"
}

// The vt package's pending-wrap stream is no row: a live tmate shifts part
// of one of its lines two columns right, in a line that changes from run to
// run (see knownTmateDiffs there).

// corpusStreams are the vt corpus streams the core parity cases do not
// already play.
var corpusStreams = []string{
	"w01_ls", "w02_sgr", "w03_utf8", "w04_seq", "w05_wrap", "w06_tput", "w07_vim_alt", "w08_vim_exit",
	"w09_less", "w10_topb", "w12_man", "w14_nano", "w16_git", "w17_smcup", "w20_emoji",
}

func corpusParityCases() []parityCase {
	var cases []parityCase
	for _, name := range corpusStreams {
		cases = append(cases, parityCase{name: "corpus-" + name,
			steps: []step{typed(playRaw(filepath.Join(corpusDir, "streams", name+".bin"), name))}, wait: name + "-done"})
	}
	return cases
}

// featureStreams are the vt package's streams written for one emulation
// feature each, checked there against a real tmate's grid.
var featureStreams, _ = filepath.Abs("../vt/testdata/streams")

// stream plays a feature stream into the pane with output processing off,
// so the pane reads exactly its bytes.
func stream(name string) parityCase {
	return parityCase{name: name, steps: []step{typed(playRaw(filepath.Join(featureStreams, name+".bin"), name))}, wait: name + "-done"}
}

// playRaw is the command that cats file to the pane unchanged, then prints
// NAME-done (built by printf, so that the command line itself does not
// show it).
func playRaw(file, name string) string {
	return "clear; stty -opost; cat " + file + "; stty opost; printf '\\n%s-done\\n' " + name
}

// redrawn has the reference client redrawn before comparing, for why.
func redrawn(pc parityCase, why string) parityCase {
	pc.redraw = why
	return pc
}

// keysRow runs a program after printf setup (modes that change how keys
// reach it) and has the guest type keys; cat -v shows what the program
// read, which must be want.
func keysRow(name, setup string, guestKeys []string, want string) parityCase {
	return parityCase{name: name, steps: []step{
		typed("clear; printf '" + setup + "'; stty -echo -icanon; echo " + name + "-ready; cat -v"),
		waitFor(name + "-ready\n"),
		{guestKeys: guestKeys},
	}, wait: want}
}

// pasteRow pastes "a paste" into the guest's terminal once the program
// has set its modes, and waits for what the program reads.
func pasteRow(name, setup, want string) parityCase {
	pc := keysRow(name, setup, nil, "ready\n"+want)
	pc.steps[2] = step{guestWait: name + "-ready", guestTmux: []string{"set-buffer", "a paste", ";", "paste-buffer", "-p"}}
	return pc
}

// guestKeyCases are keys typed into a program after it set the modes that
// change how keys reach it; a guest's keys must reach it as a tmate
// client's do.
var guestKeyCases = []struct {
	name, setup string
	keys        []string
}{
	{"normal", ``, allKeys},
	{"app-cursor", `\033[?1h`, allKeys},
	{"app-keypad", `\033=`, allKeys},
	{"app-cursor-and-keypad", `\033[?1h\033=`, allKeys},
	{"mouse-and-paste-modes", `\033[?1000h\033[?1006h\033[?2004h`, allKeys},
}

// allKeys are tmux key names whose encoding depends on the pane's modes,
// with and without modifiers (C-b, the prefix, left out).
var allKeys = []string{
	"Up", "Down", "Right", "Left", "Home", "End", "IC", "DC", "PPage", "NPage",
	"F1", "F4", "F5", "F12", "BSpace", "Tab", "BTab", "Enter",
	"C-Up", "S-Down", "M-Right", "C-S-Left", "M-Home", "C-End", "S-F3", "C-F5", "M-F12",
	"M-a", "C-a", "M-Enter", "C-Space",
	"KP0", "KP1", "KP5", "KP9", "KPEnter", "KP/", "KP*", "KP-", "KP+", "KP.",
}

// TestGuestKeysParity types the same keys through a tmate client and
// through a guest into cat -vT, one key at a time, and compares what the
// program read for each.
func TestGuestKeysParity(t *testing.T) {
	needTools(t, "tmate", "tmux", "ssh", "ssh-keygen")
	r := startRelay(t, "")
	for _, c := range guestKeyCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			hs := startHost(t, r, 80, 24, "")
			token := tokenOf(t, hs.display("#{tmate_ssh}"))
			ref := startTerm(t, 80, 24, []string{"TERM=screen-256color", "HOME=" + hs.home},
				"env", "-u", "TMUX", "tmate", "-u", "-S", hs.sock, "attach")
			guest := sshGuest(t, r, token, 80, 24)
			eventually(t, 15*time.Second, "both clients attached", func() (bool, string) {
				s := hs.display("#{session_attached}")
				return s == "1", s // the relay's guests are not tmate clients
			})
			guest.waitFor("$", 10*time.Second)
			hs.run("send-keys", "-l", "clear; printf '"+c.setup+"'; stty -echo -icanon; echo ready; cat -vT")
			hs.run("send-keys", "Enter")
			ref.waitFor("ready\n", 10*time.Second)
			ref.key("-l", "<go>")
			ref.waitFor("<go>", 10*time.Second)
			var diffs []string
			for i, k := range c.keys {
				// Each key is framed by markers, so that what it sent
				// is told apart from the next key's bytes.
				read := func(tm *term, who string) string {
					mark := fmt.Sprintf("<%s%d>", who, i)
					tm.key(k)
					tm.key("-l", mark)
					var got string
					eventually(t, 20*time.Second, "the program reads "+mark, func() (bool, string) {
						s := hs.capture("-J")
						end := strings.LastIndex(s, mark)
						if end < 0 {
							return false, s
						}
						start := strings.LastIndex(s[:end], ">") + 1
						got = s[start:end]
						return true, s
					})
					return got
				}
				want := read(ref, "r")
				got := read(guest, "g")
				if testing.Verbose() {
					t.Logf("%s: %q", k, want)
				}
				if got != want {
					diffs = append(diffs, fmt.Sprintf("%s: tmate client %q, guest %q", k, want, got))
				}
			}
			if len(diffs) > 0 {
				t.Errorf("keys reach the program unlike a tmate client's:\n%s", strings.Join(diffs, "\n"))
			}
		})
	}
}

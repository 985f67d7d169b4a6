package e2e

import (
	"strings"
	"testing"
	"time"
)

// localViewParityCases are the parity workloads for views a guest draws
// itself: pane numbers, the key list, prompts.
//
// What each is compared with: display-panes and the prompts are drawn by a
// tmate client for itself alone, so the reference presses the same keys as
// the guest and both draw their own. list-keys is different: a tmate
// client that presses prefix ? runs list-keys on the host, which shows its
// output in the active pane's view mode, and tmate replicates that view to
// every guest. The guest draws its key list over the active pane in the
// same place and the same way, so its screen must equal the reference's
// cell for cell; but equal screens alone cannot tell the guest's own view
// from the host's replicated one under it. So the guest presses prefix ?
// (and scrolls) before the reference does, and TestLocalViewsStayLocal
// checks that the guest's keys leave the host's pane alone.
var localViewParityCases = []parityCase{
	// prefix q with a display-panes-time long enough to compare: big
	// digits in the panes' centres, their sizes at the top right.
	{name: "display-panes", conf: "set -g display-panes-time 600000\n", steps: []step{
		typed("echo left"),
		tmateCmd("split-window", "-h"),
		tmateCmd("split-window", "-v"),
		typed("echo 'bottom-right'"), waitFor("bottom-right\n"),
		bothKeys("C-b", "q"),
	}, wait: "40x23"},
	// Panes too small for big digits get their number as text, in the
	// host's colours.
	{name: "display-panes-small", conf: "set -g display-panes-time 600000\nset -g display-panes-colour green\nset -g display-panes-active-colour magenta\n",
		steps: []step{
			tmateCmd("split-window", "-v"), tmateCmd("select-layout", "even-vertical"),
			tmateCmd("split-window", "-v"), tmateCmd("select-layout", "even-vertical"),
			tmateCmd("split-window", "-v"), tmateCmd("select-layout", "even-vertical"),
			tmateCmd("split-window", "-v"), tmateCmd("select-layout", "even-vertical"),
			typed("echo 'small-panes'"), waitFor("small-panes\n"),
			bothKeys("C-b", "q"),
		}, wait: "80x7"},
	// A zoomed window shows only its active pane's number (its index, 1).
	{name: "display-panes-zoomed", conf: "set -g display-panes-time 600000\n", steps: []step{
		tmateCmd("split-window", "-h"),
		tmateCmd("resize-pane", "-Z"),
		typed("echo 'zoomed'"), waitFor("zoomed\n"),
		bothKeys("C-b", "q"),
	}, wait: "80x23"},
	// Terminals bigger than the session (a smaller guest sets its size).
	{name: "display-panes-bigger-terminals", conf: "set -g display-panes-time 600000\n", smallW: 60, smallH: 18, steps: []step{
		tmateCmd("split-window", "-v"),
		// The typed line reads big''ger, its output bigger: a wait for the
		// output whether the new shell's prompt came before the typed line
		// or after it (then the output follows the prompt on its row).
		typed("echo big''ger"), waitFor("bigger"),
		bothKeys("C-b", "q"),
	}, wait: "60x8"},
	// A digit while the numbers show selects that pane (numbered from
	// pane-base-index): the guest sends the host select-pane.
	{name: "display-panes-select", conf: "set -g display-panes-time 600000\nsetw -g pane-base-index 1\n", steps: []step{
		tmateCmd("split-window", "-h"),
		typed("echo 'right'"), waitFor("right\n"),
		step{guestKeys: []string{"C-b", "q"}},
		step{guestKeys: []string{"1"}, hostShows: [2]string{"#{pane_index}", "1"}},
		typed("echo selected-$((6*7))"),
	}, wait: "selected-42"},
	{name: "display-panes-base-index", conf: "set -g display-panes-time 600000\nsetw -g pane-base-index 7\n", steps: []step{
		tmateCmd("split-window", "-v"),
		typed("echo 'bottom'"), waitFor("bottom\n"),
		bothKeys("C-b", "q"),
	}, wait: "80x11"},
	// prefix ?: the key list in view mode at its first line, then a page
	// further down.
	{name: "list-keys", steps: []step{
		typed("echo 'before-keys'"), waitFor("before-keys\n"),
		step{guestKeys: []string{"C-b", "?"}},
		refKeys("C-b", "?"), waitFor("bind-key"),
	}, wait: "send-prefix"},
	{name: "list-keys-scrolled", steps: []step{
		typed("echo 'before-keys'"), waitFor("before-keys\n"),
		step{guestKeys: []string{"C-b", "?"}},
		step{guestKeys: []string{"C-v", "C-v", "Up"}},
		refKeys("C-b", "?"), waitFor("bind-key"),
		refKeys("C-v", "C-v", "Up"),
	}, wait: "bind-key"},
	// With mode-keys vi the list takes vi's copy-mode keys.
	{name: "list-keys-vi", conf: "setw -g mode-keys vi\n", steps: []step{
		typed("echo 'before-keys'"), waitFor("before-keys\n"),
		step{guestKeys: []string{"C-b", "?"}},
		step{guestKeys: []string{"C-f", "C-d", "j", "j", "K"}},
		refKeys("C-b", "?"), waitFor("bind-key"),
		refKeys("C-f", "C-d", "j", "j", "K"),
	}, wait: "bind-key"},
	// list-keys -T from the command prompt lists one table.
	{name: "list-keys-table", conf: "bind-key -n F7 select-pane -t :.+\nbind-key -n M-F8 split-window -h -c '#{pane_current_path}'\n", steps: []step{
		typed("echo 'before-keys'"), waitFor("before-keys\n"),
		step{guestKeys: []string{"C-b", ":"}},
		step{guestKeys: []string{"-l", "list-keys -T root"}},
		step{guestKeys: []string{"Enter"}},
		refKeys("C-b", ":"), refKeys("-l", "list-keys -T root"), refKeys("Enter"),
	}, wait: "M-F8"},
	// prefix $: rename-session's prompt with the session's name.
	{name: "rename-session-prompt", steps: []step{
		typed("echo 'before-prompt'"), waitFor("before-prompt\n"),
		bothKeys("C-b", "$"), bothKeys("-l", "X"),
	}, wait: "(rename-session) 0X"},
	// After the guest renamed the session, #S is the new name.
	{name: "rename-session-renamed", steps: []step{
		typed("echo 'before-prompt'"), waitFor("before-prompt\n"),
		step{guestKeys: []string{"C-b", "$"}},
		step{guestKeys: []string{"C-u"}},
		step{guestKeys: []string{"-l", "shared"}},
		step{guestKeys: []string{"Enter"}},
		waitFor("[shared]"),
		bothKeys("C-b", "$"),
	}, wait: "(rename-session) shared"},
	// The host renamed its session: its status line (tmate's default
	// status-left, "[#S] ") tells the guest the name.
	{name: "rename-session-on-host", steps: []step{
		tmateCmd("rename-session", "from-host"),
		typed("echo 'before-prompt'"), waitFor("before-prompt\n"),
		bothKeys("C-b", "$"),
	}, wait: "(rename-session) from-host"},
	// Up and Down walk the lines entered at earlier prompts.
	{name: "prompt-history", steps: []step{
		typed("echo 'before-prompt'"), waitFor("before-prompt\n"),
		bothKeys("C-b", ":"), bothKeys("-l", "rename-window one"), bothKeys("Enter"), waitFor(":one*"),
		bothKeys("C-b", ":"), bothKeys("-l", "rename-window two"), bothKeys("Enter"), waitFor(":two*"),
		bothKeys("C-b", ":"), bothKeys("Up", "Up", "Up", "Down"),
	}, wait: ":rename-window two"},
	// Word moves, transposing and deleting a word, as tmux's emacs-edit
	// keys do them with the default word-separators.
	{name: "prompt-words", steps: []step{
		typed("echo 'before-prompt'"), waitFor("before-prompt\n"),
		bothKeys("C-b", ":"), bothKeys("-l", "split-window -h -c x"),
		bothKeys("M-b"), bothKeys("M-b"), bothKeys("C-t"), bothKeys("C-w"), bothKeys("M-f"),
	}, wait: ":split-window -h  x"},
	// Tab completes command names: several matches to their common
	// prefix, one with a space after it.
	{name: "prompt-complete", steps: []step{
		typed("echo 'before-prompt'"), waitFor("before-prompt\n"),
		bothKeys("C-b", ":"), bothKeys("-l", "sel"), bothKeys("Tab"), bothKeys("-l", "w"), bothKeys("Tab"),
		bothKeys("-l", "status-l"), bothKeys("Tab"),
	}, wait: ":select-window status-left"},
}

// TestLocalViewsStayLocal checks what parity cannot: the guest's key list
// and pane numbers are its own, the host's pane never enters a mode for
// them, and a digit over the numbers selects that pane on the host.
func TestLocalViewsStayLocal(t *testing.T) {
	needTools(t, "tmate", "tmux", "ssh", "ssh-keygen")
	r := startRelay(t, "")
	hs := startHost(t, r, 80, 24, "set -g display-panes-time 600000\n")
	hs.run("split-window", "-h")
	guest := sshGuest(t, r, tokenOf(t, hs.display("#{tmate_ssh}")), 80, 24)
	guest.waitFor("$", 10*time.Second)

	guest.key("C-b", "?")
	guest.waitFor("bind-key", 10*time.Second)
	guest.key("C-v")
	if got := hs.display("#{pane_in_mode}"); got != "0" {
		t.Fatalf("host pane in a mode after the guest's prefix ?: pane_in_mode=%s", got)
	}
	guest.key("q")
	eventually(t, 10*time.Second, "the key list closed", func() (bool, string) {
		s := guest.screen()
		return !strings.Contains(s, "bind-key"), s
	})

	if got := hs.display("#{pane_index}"); got != "1" {
		t.Fatalf("active pane before display-panes: %s", got)
	}
	guest.key("C-b", "q")
	guest.waitFor("40x23", 10*time.Second)
	guest.key("0")
	eventually(t, 10*time.Second, "pane 0 selected on the host", func() (bool, string) {
		s := hs.display("#{pane_index}")
		return s == "0", s
	})
	eventually(t, 10*time.Second, "the numbers hidden", func() (bool, string) {
		s := guest.screen()
		return !strings.Contains(s, "40x23"), s
	})
}

package keys

import "strings"

// commandNames are tmux 2.x's (tmate 2.4.0's) commands with their aliases
// ("" for none), in the order of its command table. The host sends a bound
// command's name as the user wrote it, so "detach", "detach-client" and an
// unambiguous abbreviation like "detach-c" all mean detach-client.
var commandNames = [][2]string{
	{"attach-session", "attach"}, {"bind-key", "bind"}, {"break-pane", "breakp"},
	{"capture-pane", "capturep"}, {"choose-buffer", ""}, {"choose-client", ""},
	{"choose-session", ""}, {"choose-tree", ""}, {"choose-window", ""},
	{"clear-history", "clearhist"}, {"clock-mode", ""}, {"command-prompt", ""},
	{"confirm-before", "confirm"}, {"copy-mode", ""}, {"delete-buffer", "deleteb"},
	{"detach-client", "detach"}, {"display-message", "display"},
	{"display-panes", "displayp"}, {"find-window", "findw"}, {"has-session", "has"},
	{"if-shell", "if"}, {"join-pane", "joinp"}, {"kill-pane", "killp"},
	{"kill-server", ""}, {"kill-session", ""}, {"kill-window", "killw"},
	{"last-pane", "lastp"}, {"last-window", "last"}, {"link-window", "linkw"},
	{"list-buffers", "lsb"}, {"list-clients", "lsc"}, {"list-commands", "lscm"},
	{"list-keys", "lsk"}, {"list-panes", "lsp"}, {"list-sessions", "ls"},
	{"list-windows", "lsw"}, {"load-buffer", "loadb"}, {"lock-client", "lockc"},
	{"lock-server", "lock"}, {"lock-session", "locks"}, {"move-pane", "movep"},
	{"move-window", "movew"}, {"new-session", "new"}, {"new-window", "neww"},
	{"next-layout", "nextl"}, {"next-window", "next"}, {"paste-buffer", "pasteb"},
	{"pipe-pane", "pipep"}, {"previous-layout", "prevl"},
	{"previous-window", "prev"}, {"refresh-client", "refresh"},
	{"rename-session", "rename"}, {"rename-window", "renamew"},
	{"resize-pane", "resizep"}, {"respawn-pane", "respawnp"},
	{"respawn-window", "respawnw"}, {"rotate-window", "rotatew"},
	{"run-shell", "run"}, {"save-buffer", "saveb"}, {"select-layout", "selectl"},
	{"select-pane", "selectp"}, {"select-window", "selectw"},
	{"send-keys", "send"}, {"send-prefix", ""}, {"server-info", "info"},
	{"set-buffer", "setb"}, {"set-environment", "setenv"}, {"set-hook", ""},
	{"set-option", "set"}, {"set-window-option", "setw"},
	{"show-buffer", "showb"}, {"show-environment", "showenv"},
	{"show-hooks", ""}, {"show-messages", "showmsgs"}, {"show-options", "show"},
	{"show-window-options", "showw"}, {"source-file", "source"},
	{"split-window", "splitw"}, {"start-server", "start"},
	{"suspend-client", "suspendc"}, {"swap-pane", "swapp"},
	{"swap-window", "swapw"}, {"switch-client", "switchc"},
	{"unbind-key", "unbind"}, {"unlink-window", "unlinkw"},
	{"wait-for", "wait"},
}

// CommandName returns the full tmux name of a command as written in a
// binding (an alias, the full name, or an unambiguous prefix of a full
// name), or "" when tmux would not know it.
func CommandName(s string) string {
	if s == "" {
		return ""
	}
	for _, c := range commandNames {
		if c[0] == s || c[1] == s {
			return c[0]
		}
	}
	found := ""
	for _, c := range commandNames {
		if strings.HasPrefix(c[0], s) {
			if found != "" {
				return ""
			}
			found = c[0]
		}
	}
	return found
}

// SplitCommands splits a bound command's argv into its commands the way
// tmux 2.x's cmd_list_parse does: an argument ending in an unescaped ';'
// ends a command (the ';' is dropped), a trailing "\;" is a literal ';'.
// Empty commands are left out. The host runs one command per EXEC_CMD, so a
// binding like `select-pane -t = \; send-keys -M` becomes two.
func SplitCommands(argv []string) [][]string {
	var out [][]string
	var cur []string
	for _, a := range argv {
		if !strings.HasSuffix(a, ";") {
			cur = append(cur, a)
			continue
		}
		if strings.HasSuffix(a, `\;`) {
			cur = append(cur, a[:len(a)-2]+";")
			continue
		}
		if a = a[:len(a)-1]; a != "" {
			cur = append(cur, a)
		}
		if len(cur) > 0 {
			out = append(out, cur)
		}
		cur = nil
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

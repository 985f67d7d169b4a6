package e2e

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// A host with no client of its own draws no status line, so it sends none:
// its guests expand its status-left and status-right themselves, as its
// client would (what tmate's display-message gives for the same formats).
func TestStatusExpandedWithoutAHostClient(t *testing.T) {
	needTools(t, "tmate", "tmux", "ssh", "ssh-keygen")
	r := startRelay(t, "")
	markup := regexp.MustCompile(`#\[[^]]*\]`)
	for _, tc := range []struct{ name, conf string }{
		{"tmate's defaults", ""},
		{"formats", "set -g status-left '#[fg=red]#S:#I.#P #{=5:host_short}|'\nset -g status-left-length 30\n" +
			"set -g status-right '#W #{window_panes}#[default] %Y'\nset -g status-right-style bg=blue\n"},
		{"pane title", "set -g status-right '#T'\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			hs := startHost(t, r, 80, 24, tc.conf)
			if tc.name == "pane title" {
				hs.run("send-keys", "-l", `printf '\033]2;a title\033\\'`)
				hs.run("send-keys", "Enter")
			}
			token := tokenOf(t, hs.display("#{tmate_ssh}"))
			guest := sshGuest(t, r, token, 80, 24)
			eventually(t, 15*time.Second, "the guest's status line shows the host's formats", func() (bool, string) {
				left := markup.ReplaceAllString(hs.display(hs.display("#{status-left}")), "")
				right := clockRE.ReplaceAllString(markup.ReplaceAllString(hs.display(hs.display("#{status-right}")), ""), "CLOCK")
				lines := strings.Split(strings.TrimRight(guest.screen(), "\n"), "\n")
				status := clockRE.ReplaceAllString(strings.TrimRight(lines[len(lines)-1], " "), "CLOCK")
				return strings.HasPrefix(status, left) && strings.HasSuffix(status, right),
					"status line " + status + "\nwant it to start with " + left + " and end with " + right
			})
		})
	}
}

package guest

import (
	"fmt"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"tmate-relay/service/vt"
)

// tmateHost is a real tmate 2.4.0 host kept off the network, whose panes
// print their own id ("%3") and sleep.
type tmateHost struct {
	t    *testing.T
	sock string
}

const paneCmd = `printf %s "$TMUX_PANE"; exec sleep 600`

func newTmateHost(t *testing.T) *tmateHost {
	needTool(t, "tmate")
	dir := t.TempDir()
	conf := filepath.Join(dir, "tmate.conf")
	os.WriteFile(conf, []byte("set -g tmate-server-host 127.0.0.1\nset -g tmate-server-port 1\n"+
		"set -g tmate-display-time 1\nset -g display-time 1\nset -g status-right 'RIGHT'\n"), 0o644)
	h := &tmateHost{t: t, sock: filepath.Join(dir, "h.sock")}
	h.run("-f", conf, "new-session", "-d", "-x", "80", "-y", "23", paneCmd)
	t.Cleanup(func() { osexec.Command("tmate", "-S", h.sock, "kill-server").Run() })
	time.Sleep(500 * time.Millisecond)
	h.run("send-keys", "q")
	return h
}

func (h *tmateHost) run(args ...string) string {
	h.t.Helper()
	return runOnSocket(h.t, "tmate", h.sock, args...)
}

// view builds the View a relay would hold for the host's current window,
// with fake panes showing what the panes printed.
func (h *tmateHost) view() *View {
	v := &View{StatusOn: true, StatusLeft: "[0] ", StatusRight: "RIGHT"}
	size := strings.Fields(h.run("display", "-p", "#{window_width} #{window_height}"))
	v.W, _ = strconv.Atoi(size[0])
	v.H, _ = strconv.Atoi(size[1])
	for _, line := range strings.Split(strings.TrimSpace(h.run("list-panes", "-F",
		"#{pane_id} #{pane_left} #{pane_top} #{pane_width} #{pane_height} #{pane_active}")), "\n") {
		var p PaneView
		var active int
		fmt.Sscanf(line, "%%%d %d %d %d %d %d", &p.ID, &p.X, &p.Y, &p.W, &p.H, &active)
		p.Screen = newFake(p.W, p.H).write(0, 0, vt.Cell{}, fmt.Sprintf("%%%d", p.ID))
		if active == 1 {
			v.ActivePane = p.ID
		}
		v.Panes = append(v.Panes, p)
	}
	for _, line := range strings.Split(strings.TrimSpace(h.run("list-windows", "-F",
		"#{window_index} #{window_active} #{window_last_flag} #{window_zoomed_flag} #{window_name}")), "\n") {
		var wv WindowView
		var a, l, z int
		fmt.Sscanf(line, "%d %d %d %d %s", &wv.Index, &a, &l, &z, &wv.Name)
		wv.Active, wv.Last, wv.Zoomed = a == 1, l == 1, z == 1
		v.Windows = append(v.Windows, wv)
	}
	return v
}

// TestComposeMatchesTmateClient compares composed frames, drawn into a
// tmux pane, with what a real tmate client attached to the host shows.
func TestComposeMatchesTmateClient(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real tmate and tmux")
	}
	h := newTmateHost(t)
	probe := newTmux(t)
	mine := newTmux(t)
	attach := func(name string, w, hh int) {
		probe.run("new-session", "-d", "-s", name, "-x", fmt.Sprint(w), "-y", fmt.Sprint(hh),
			"env -u TMUX tmate -S "+h.sock+" attach")
	}
	attach("small", 80, 24)
	time.Sleep(time.Second)

	steps := []struct {
		name string
		cmds [][]string
	}{
		{"one pane", nil},
		{"side by side, right active", [][]string{{"split-window", "-h", paneCmd}}},
		{"side by side, left active", [][]string{{"select-pane", "-L"}}},
		{"stacked, bottom active", [][]string{{"kill-pane", "-a", "-t", "%0"}, {"split-window", "-v", paneCmd}}},
		{"stacked, top active", [][]string{{"select-pane", "-U"}}},
		{"nested, bottom right active", [][]string{{"select-pane", "-D"}, {"split-window", "-h", paneCmd}}},
		{"nested, top right active", [][]string{{"select-pane", "-U"}}},
		{"nested, left of three", [][]string{{"select-pane", "-t", "%0"}}},
		{"four panes", [][]string{{"split-window", "-h", paneCmd}}},
		{"zoomed", [][]string{{"resize-pane", "-Z"}}},
		{"second window", [][]string{{"new-window", paneCmd}}},
		{"back to first window", [][]string{{"select-window", "-t", ":0"}}},
	}
	for _, st := range steps {
		for _, c := range st.cmds {
			h.run(c...)
		}
		matchWithin(t, st.name, 80, 24, func() (string, string) {
			want := probe.run("capture-pane", "-p", "-e", "-t", "small")
			var f Frame
			Compose(h.view(), 80, 24, &f)
			got, _ := mine.terminal(80, 24, refRender(&f))
			return got, want
		})
	}

	// A bigger client next to the 80x24 one sees the smaller window plus
	// tmux's filler.
	h.run("select-pane", "-t", "%2")
	attach("big", 100, 30)
	matchWithin(t, "bigger client", 100, 30, func() (string, string) {
		want := probe.run("capture-pane", "-p", "-e", "-t", "big")
		var f Frame
		Compose(h.view(), 100, 30, &f)
		got, _ := mine.terminal(100, 30, refRender(&f))
		return got, want
	})
}

// matchWithin compares our drawing with the real client's until they agree
// or 10 s pass: the client takes a moment to redraw, and with no relay here
// the host's status line shows a connection message now and then.
func matchWithin(t *testing.T, what string, w, h int, screens func() (got, want string)) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, want := screens()
		if dumpFrame(parseCapture(got, w, h)) == dumpFrame(parseCapture(want, w, h)) || time.Now().After(deadline) {
			sameScreens(t, what, got, want, w, h)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"tmate-relay/service/recording"
	"tmate-relay/service/vt"
)

// recordingConf is a [recording] table writing into dir.
func recordingConf(dir, extra string) string {
	return fmt.Sprintf("[recording]\nenabled = true\ndir = %q\n%s", dir, extra)
}

// onlyRecording waits until dir holds one recording and returns it.
func onlyRecording(t *testing.T, dir string, cond func(recording.Info) bool) recording.Info {
	t.Helper()
	var got recording.Info
	eventually(t, 20*time.Second, "one recording", func() (bool, string) {
		list, err := recording.List(dir)
		if err != nil || len(list) != 1 {
			return false, fmt.Sprintf("%v %+v", err, list)
		}
		got = list[0]
		if cond == nil || cond(got) {
			return true, ""
		}
		p, _ := recording.Path(dir, got.ID)
		b, _ := os.ReadFile(p)
		return false, fmt.Sprintf("%+v\n%s", got, b)
	})
	return got
}

// replay plays the recording at path with Debian's `asciinema cat` into
// the relay's own emulator, at the recording's last size.
func replay(t *testing.T, path string) *vt.Emulator {
	t.Helper()
	out, err := asciinemaCat(path)
	if err != nil {
		t.Fatalf("asciinema cat %s: %v", path, err)
	}
	w, h := lastSize(t, path)
	e := vt.New(w, h, 0)
	e.Write(out)
	return e
}

// asciinemaCat runs `asciinema cat path` and returns what it prints. It
// puts its controlling terminal (/dev/tty) in raw mode, so it gets a pty
// of its own; what it prints goes to a pipe, as it is.
func asciinemaCat(path string) ([]byte, error) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		return nil, err
	}
	defer ptmx.Close()
	defer tty.Close()
	cmd := exec.Command("asciinema", "cat", path)
	cmd.Stdin = tty
	var stderr strings.Builder
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%w: %s", err, stderr.String())
	}
	return out, nil
}

// lastSize is the recording's size at its end: the header's, or its last
// "r" event's.
func lastSize(t *testing.T, path string) (w, h int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 64<<20)
	sc.Scan()
	var hdr struct{ Width, Height int }
	if err := json.Unmarshal(sc.Bytes(), &hdr); err != nil {
		t.Fatalf("header: %v", err)
	}
	w, h = hdr.Width, hdr.Height
	for sc.Scan() {
		var ev [3]any
		if json.Unmarshal(sc.Bytes(), &ev) == nil && ev[1] == "r" {
			fmt.Sscanf(ev[2].(string), "%dx%d", &w, &h)
		}
	}
	return w, h
}

// paneDiff compares each of the host's panes, as capture-pane -e shows
// it, with the same region of e; it returns "" when all are equal.
func paneDiff(hs *host, e *vt.Emulator) string {
	list, err := hs.output("list-panes", "-F", "#{pane_id} #{pane_left} #{pane_top} #{pane_width} #{pane_height}")
	if err != nil {
		return err.Error()
	}
	var diffs []string
	for _, line := range strings.Split(strings.TrimSpace(list), "\n") {
		var id string
		var x, y, w, h int
		fmt.Sscanf(line, "%s %d %d %d %d", &id, &x, &y, &w, &h)
		capture, err := hs.output("capture-pane", "-p", "-e", "-t", id)
		if err != nil {
			return err.Error()
		}
		want := vt.New(w, h, 0)
		want.Write([]byte(strings.ReplaceAll(strings.TrimSuffix(capture, "\n"), "\n", "\r\n")))
		for row := 0; row < h; row++ {
			if _, eh := e.Size(); y+row >= eh {
				diffs = append(diffs, fmt.Sprintf("%s: row %d is outside the recording", id, row))
				break
			}
			got := append([]vt.Cell(nil), e.Line(y+row)...) // runs to its last stored cell
			if ew, _ := e.Size(); x+w > ew {
				diffs = append(diffs, fmt.Sprintf("%s: columns %d..%d are outside the recording (%d wide)", id, x, x+w, ew))
				break
			}
			for len(got) < x+w {
				got = append(got, vt.Cell{})
			}
			if a, b := cellsText(want.Line(row)), cellsText(got[x:x+w]); a != b {
				diffs = append(diffs, fmt.Sprintf("%s row %d:\nhost:      %q\nrecording: %q", id, row, a, b))
			}
		}
	}
	return strings.Join(diffs, "\n")
}

// cellsText is a row's characters with their colours and attributes, the
// blanks at its end left out (capture-pane does not print them).
func cellsText(cells []vt.Cell) string {
	end := len(cells)
	for end > 0 && blank(cells[end-1]) {
		end--
	}
	var b strings.Builder
	for _, c := range cells[:end] {
		r := c.String()
		if c.Rune == 0 {
			r = " "
		}
		if blank(c) {
			fmt.Fprintf(&b, "%s", r)
			continue
		}
		fmt.Fprintf(&b, "%s{%v/%v/%v}", r, c.Fg, c.Bg, c.Attr)
	}
	return b.String()
}

func blank(c vt.Cell) bool {
	var zero vt.Cell
	return (c.Rune == 0 || c.Rune == ' ') && c.Bg == zero.Bg && c.Attr == zero.Attr
}

// TestRecordingReplaysAsTheHostsPanes records a real tmate session with
// colours, vim, a split and a resize, and plays the file with asciinema
// into the relay's emulator: each pane equals the host's capture-pane. The
// host hears of the recording in show-messages, the guest on joining, and
// an old recording is deleted at start (retention).
func TestRecordingReplaysAsTheHostsPanes(t *testing.T) {
	needTools(t, "tmate", "tmux", "ssh", "asciinema", "vi")
	dir := filepath.Join(t.TempDir(), "recordings")
	os.Mkdir(dir, 0o700)
	old := filepath.Join(dir, "20200101-000000-0000abcd.cast")
	os.WriteFile(old, []byte("{}\n"), 0o600)
	long := time.Now().AddDate(0, 0, -3)
	os.Chtimes(old, long, long)
	stray := filepath.Join(dir, "notes.txt") // not a recording: kept
	os.WriteFile(stray, nil, 0o600)
	os.Chtimes(stray, long, long)

	r := startRelay(t, recordingConf(dir, "retention = 2\n"))
	eventually(t, 10*time.Second, "old recording deleted at start", func() (bool, string) {
		_, err := os.Stat(old)
		return os.IsNotExist(err), fmt.Sprint(err)
	})
	if _, err := os.Stat(stray); err != nil {
		t.Errorf("a file that is no recording was deleted: %v", err)
	}

	hs := startAttachedHost(t, r, 100, 30, "")
	hs.waitMessage("this session is recorded", 10*time.Second)
	rec := onlyRecording(t, dir, nil)
	path, err := recording.Path(dir, rec.ID)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("recording file mode: %v %v", fi.Mode(), err)
	}

	g := sshGuest(t, r, tokenOf(t, hs.display("#{tmate_ssh}")), 90, 26)
	g.waitFor(strings.TrimSuffix("This session is recorded by the relay.", "."), 15*time.Second)

	hs.run("send-keys", "printf '\\033[31mred \\033[1;42mbold-on-green\\033[0m plain\\n'", "Enter")
	os.WriteFile(filepath.Join(hs.dir, "file.txt"), []byte(strings.Repeat("recorded line\n", 40)), 0o644)
	hs.run("split-window", "-h", "-c", hs.dir, "vi -u NONE -N -c 'set number' file.txt")
	g.waitFor("recorded line", 15*time.Second)
	g.tmux("resize-window", "-x", "84", "-y", "22")
	eventually(t, 15*time.Second, "the session takes the guest's new size", func() (bool, string) {
		s := hs.display("#{window_width}x#{window_height}")
		return s == "84x21", s
	})
	hs.run("send-keys", "-t", "{last}", "Escape", "G", "k", "k")

	var last string
	eventually(t, 30*time.Second, "replayed recording equals the host's panes", func() (bool, string) {
		last = paneDiff(hs, replay(t, path))
		if last != "" {
			b, _ := exec.Command("grep", "-a", "-o", `"[rm]", "[^"]*"`, path).Output()
			last += "\n" + string(b)
		}
		return last == "", last
	})

	b, _ := os.ReadFile(path)
	for _, secret := range []string{tokenOf(t, hs.display("#{tmate_ssh}")), tokenOf(t, hs.display("#{tmate_ssh_ro}"))} {
		if strings.Contains(string(b), secret) || strings.Contains(path, secret) {
			t.Fatalf("the recording holds a token")
		}
	}
	for _, mark := range []string{`"m", "guest joined: 127.0.0.1 rw ssh"`, `"m", "resize 84x22"`, `"r", "84x22"`} {
		if !strings.Contains(string(b), mark) {
			t.Errorf("recording has no %s event", mark)
		}
	}
	if in, _ := recording.Read(path); in.Guests != 1 || !in.End.IsZero() {
		t.Errorf("live recording: %+v", in)
	}

	// The session ends: the file says when, with the guest counted.
	hs.kill()
	ended := onlyRecording(t, dir, func(in recording.Info) bool { return !in.End.IsZero() })
	if ended.Guests != 1 || ended.Stopped != "" {
		t.Errorf("ended recording: %+v", ended)
	}
	var hdr struct{ Width, Height int }
	line, _, _ := strings.Cut(string(b), "\n")
	if json.Unmarshal([]byte(line), &hdr); hdr.Width != 100 || hdr.Height != 30 {
		t.Errorf("header size %dx%d, want the session's first, 100x30", hdr.Width, hdr.Height)
	}
	out, err := exec.Command(relayBin, "recordings", "-c", r.conf, "--json").Output()
	if err != nil || !strings.Contains(string(out), `"id": "`+rec.ID+`"`) || !strings.Contains(string(out), `"guests": 1`) {
		t.Errorf("tmate-relay recordings --json: %v\n%s", err, out)
	}
	out, err = exec.Command(relayBin, "play", "-c", r.conf, rec.ID, "--speed", "1000").Output()
	if err != nil || !strings.Contains(string(out), "recorded line") || !strings.Contains(string(out), "bold-on-green") {
		t.Errorf("tmate-relay play: %v\n%q", err, out)
	}
}

// flood redraws the whole screen every 10 ms until the file stop exists
// (the recorder draws the latest screen, so one burst of output would make
// few frames), then prints flood-done.
func flood(stop string) string {
	return `i=0; while [ ! -e ` + stop + ` ]; do i=$((i+1)); printf '\033[H\033[2J'; seq $i $((i+20)); sleep 0.01; done; echo flood-$((100+1))`
}

// endFlood stops the flood and waits until the guest sees it end.
func endFlood(t *testing.T, stop string, g *term) {
	t.Helper()
	if err := os.WriteFile(stop, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	g.waitFor("flood-101", 30*time.Second)
}

// TestRecordingStopsAtMaxBytesSessionGoesOn: a small max_bytes stops the
// recording with a note in the file, and the session carries on.
func TestRecordingStopsAtMaxBytesSessionGoesOn(t *testing.T) {
	needTools(t, "tmate", "tmux", "ssh")
	dir := filepath.Join(t.TempDir(), "recordings")
	r := startRelay(t, recordingConf(dir, "max_bytes = 16384\n"))
	hs := startHost(t, r, 80, 24, "")
	g := sshGuest(t, r, tokenOf(t, hs.display("#{tmate_ssh}")), 80, 24)
	g.waitFor("$", 15*time.Second)
	stop := filepath.Join(t.TempDir(), "stop")
	hs.run("send-keys", flood(stop), "Enter")
	in := onlyRecording(t, dir, func(in recording.Info) bool { return in.Stopped != "" })
	if in.Stopped != "max_bytes reached" || in.End.IsZero() || in.Size > 16384 {
		t.Fatalf("recording after its limit: %+v", in)
	}
	path, _ := recording.Path(dir, in.ID)
	b, _ := os.ReadFile(path)
	if !strings.Contains(string(b), "The relay stopped recording here: max_bytes reached") {
		t.Errorf("no closing note in the file")
	}
	endFlood(t, stop, g)
	hs.run("send-keys", "echo still-$((40+2))", "Enter")
	g.waitFor("still-42", 15*time.Second)
	if m := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/metrics", r.metricsPort)); !strings.Contains(m, `tmate_relay_recording_failures_total{reason="max_bytes"} 1`) {
		t.Errorf("metrics do not count the stop:\n%s", grepLines(m, "recording"))
	}
}

// TestRecordingFullDiskStopsOnlyTheRecording: the recordings' directory is
// a tiny tmpfs (as root; elsewhere a file-size limit on the relay stands
// in for it). The recording stops, says why in its header, and is counted;
// the session goes on.
func TestRecordingFullDiskStopsOnlyTheRecording(t *testing.T) {
	needTools(t, "tmate", "tmux", "ssh", "prlimit")
	dir := filepath.Join(t.TempDir(), "recordings")
	os.Mkdir(dir, 0o700)
	want := "disk full"
	r := prepareRelay(t, recordingConf(dir, "max_bytes = 0\n"))
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=32k,mode=0700"); err == nil {
		t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
		r.launch(relayBin, "serve", "-c", r.conf)
	} else {
		t.Logf("no tmpfs (%v): a file size limit stands in for a full disk", err)
		want = "file size limit reached"
		r.launch("prlimit", "--fsize=32768", relayBin, "serve", "-c", r.conf)
	}
	hs := startHost(t, r, 80, 24, "")
	g := sshGuest(t, r, tokenOf(t, hs.display("#{tmate_ssh}")), 80, 24)
	g.waitFor("$", 15*time.Second)
	stop := filepath.Join(t.TempDir(), "stop")
	hs.run("send-keys", flood(stop), "Enter")
	in := onlyRecording(t, dir, func(in recording.Info) bool { return in.Stopped != "" })
	if in.Stopped != want || in.End.IsZero() {
		t.Fatalf("recording on a full disk: %+v, want stopped %q", in, want)
	}
	endFlood(t, stop, g)
	hs.run("send-keys", "echo still-$((40+2))", "Enter")
	g.waitFor("still-42", 15*time.Second)
	if m := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/metrics", r.metricsPort)); !strings.Contains(m, `tmate_relay_recording_failures_total{reason="write_error"} 1`) {
		t.Errorf("metrics do not count the stop:\n%s", grepLines(m, "recording"))
	}
	if log := r.log.String(); !strings.Contains(log, "recording stopped; the session goes on unrecorded") || !strings.Contains(log, "event=recording_stopped") {
		t.Errorf("the stop is not logged and audited")
	}
}

// TestRecordingRefusedByHost: a host that sets @tmate-relay-record off (a
// user option tmate 2.4.0 passes on to the relay) is not recorded, or is
// refused when the relay requires recording.
func TestRecordingRefusedByHost(t *testing.T) {
	needTools(t, "tmate", "tmux", "ssh")
	for _, required := range []bool{false, true} {
		t.Run("required="+strconv.FormatBool(required), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "recordings")
			r := startRelay(t, recordingConf(dir, fmt.Sprintf("required = %v\n", required)))
			var hs *host
			if required {
				hs = spawnHost(t, r, "set -g @tmate-relay-record off\n")
				hs.waitMessage("this relay records every session, and this host refused", 20*time.Second)
			} else {
				// Attached from the start: its client logs the first messages.
				hs = startAttachedHost(t, r, 80, 24, "set -g @tmate-relay-record off\n")
				hs.waitMessage("this session is not recorded, as the host asked", 20*time.Second)
			}
			if list, _ := recording.List(dir); len(list) != 0 {
				t.Errorf("recorded anyway: %+v", list)
			}
		})
	}
}

func grepLines(s, word string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, word) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestRecordingContinuesAfterRelayRestart: the host's session comes back
// after a relay restart in a new file that names the one before.
func TestRecordingContinuesAfterRelayRestart(t *testing.T) {
	needTools(t, "tmate", "tmux", "ssh")
	dir := filepath.Join(t.TempDir(), "recordings")
	r := startRelay(t, recordingConf(dir, ""))
	h := startAttachedHost(t, r, 80, 24, "")
	first := onlyRecording(t, dir, nil)
	r.restart()
	eventually(t, 30*time.Second, "the host reconnected", func() (bool, string) {
		m := h.messages()
		return strings.Contains(m, "Reconnected"), m
	})
	var list []recording.Info
	eventually(t, 20*time.Second, "a second recording", func() (bool, string) {
		list, _ = recording.List(dir)
		return len(list) == 2, fmt.Sprintf("%+v", list)
	})
	then, before := list[0], list[1]
	if before.ID != first.ID || before.End.IsZero() || then.Previous != first.ID || !then.End.IsZero() {
		t.Fatalf("recordings after the restart: %+v, want the newest to continue %s", list, first.ID)
	}
	p, _ := recording.Path(dir, then.ID)
	eventually(t, 10*time.Second, "the new recording marks the restart", func() (bool, string) {
		b, _ := os.ReadFile(p)
		return strings.Contains(string(b), `"m", "relay restarted"`), string(b)
	})
	p, _ = recording.Path(dir, before.ID)
	if b, _ := os.ReadFile(p); !strings.Contains(string(b), `"m", "session ended: The relay is restarting`) {
		t.Errorf("the first recording does not say the relay stopped:\n%s", b)
	}
}

// TestRecordingRefusedWhileRunning: a host that sets @tmate-relay-record
// off in a running session stops its recording, and hears so.
func TestRecordingRefusedWhileRunning(t *testing.T) {
	needTools(t, "tmate", "tmux", "ssh")
	dir := filepath.Join(t.TempDir(), "recordings")
	r := startRelay(t, recordingConf(dir, ""))
	hs := startAttachedHost(t, r, 80, 24, "")
	onlyRecording(t, dir, nil)
	hs.run("set-option", "-g", "@tmate-relay-record", "off")
	in := onlyRecording(t, dir, func(in recording.Info) bool { return in.Stopped != "" })
	if in.Stopped != "refused by the host" || in.End.IsZero() {
		t.Fatalf("recording after the host refused: %+v", in)
	}
	hs.waitMessage("recording stopped, as the host asked", 10*time.Second)
}

// TestRecordingLeftOpenByAKilledRelay: a relay killed mid-session leaves
// its recording open; started again, it closes it.
func TestRecordingLeftOpenByAKilledRelay(t *testing.T) {
	needTools(t, "tmate", "tmux", "ssh")
	dir := filepath.Join(t.TempDir(), "recordings")
	r := startRelay(t, recordingConf(dir, ""))
	startHost(t, r, 80, 24, "")
	first := onlyRecording(t, dir, nil)
	argv := r.cmd.Args
	r.cmd.Process.Kill() // by its PID
	r.cmd.Wait()
	if in, _ := recording.Read(filepath.Join(dir, first.ID+".cast")); !in.End.IsZero() {
		t.Fatalf("a killed relay closed its recording: %+v", in)
	}
	r.launch(append([]string{relayBin}, argv[1:]...)...)
	eventually(t, 10*time.Second, "the recording closed", func() (bool, string) {
		in, err := recording.Read(filepath.Join(dir, first.ID+".cast"))
		return !in.End.IsZero() && in.Stopped == recording.Unfinished, fmt.Sprintf("%+v %v", in, err)
	})
}

package vt

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The relay mirrors a tmate 2.4.0 host, so what a real tmate 2.4.0 pane holds
// after a stream is the emulator's primary reference. testdata/tmate-2.4.0
// holds, for every corpus stream, what `tmate capture-pane -p -e` printed
// (NAME.screen), the history above it (NAME.hist), the cursor and modes
// (NAME.meta, as the tmux 3.3a corpus) and the pane's title (NAME.title), at 80x24 and again at 80x23
// (NAME@80x23.*). `go test -run TestTmateConformance ./service/vt -args
// -update` captures them again from the installed tmate: each stream is fed
// to a tmate pane of that size by `cat` with output processing off, so the
// pane reads the recorded bytes unchanged. The check prints our cells the
// way tmate's capture-pane prints its own and compares the bytes exactly
// (trailing spaces trimmed, as tmate does).

var update = flag.Bool("update", false, "capture testdata/tmate-2.4.0 from a real tmate 2.4.0")

const tmateDir = "testdata/tmate-2.4.0"

// knownTmateDiffs lists corpus streams we deliberately do not match against
// tmate 2.4.0, with why.
var knownTmateDiffs = map[string]string{
	"wide-halves":       wideHalvesDiff,
	"wide-halves@80x23": wideHalvesDiff,
	// In one line of this stream tmate's grid puts the characters after
	// the first two columns to the right ("e  l2" for "el2"); which line,
	// and at which size, changes with how tmate's reads of the pane
	// split (a stream read at once shows none): a timing artifact of its
	// cached line writes. The other size matches.
	"pending-wrap@80x23": "tmate 2.4 shifts part of one line two columns right, depending on how its reads of the pane split",
}

// wideHalvesDiff: a DCH at the left half of a wide character leaves tmate's
// grid starting with the orphaned padding cell, which its capture-pane and
// its client skip, drawing the rest one column left of where the grid has
// it; we keep the orphan as a blank, where the grid has the cells.
const wideHalvesDiff = "DCH on the left half of a wide character: tmate draws the line shifted left of its own grid"

func TestTmateConformance(t *testing.T) {
	names := append(corpusNames(t), featureNames(t)...)
	if *update {
		captureTmate(t, names)
	}
	pass := 0
	for _, name := range tmateCases(names) {
		ref := filepath.Join(tmateDir, name)
		wantScreen, err := os.ReadFile(ref + ".screen")
		if err != nil {
			t.Fatalf("%v (capture it: go test -run TestTmateConformance -update ./service/vt)", err)
		}
		wantMeta, _ := os.ReadFile(ref + ".meta")
		wantHist, _ := os.ReadFile(ref + ".hist")
		e := runTmateCase(t, name)
		var diffs []string
		if w, g := acsToUnicode(string(wantScreen)), tmateCapture(e, false); w != g {
			diffs = append(diffs, "screen:\n"+lineDiff(w, g))
		}
		if got := metaOf(e); got != strings.TrimSpace(string(wantMeta)) {
			diffs = append(diffs, fmt.Sprintf("meta: want %q got %q", strings.TrimSpace(string(wantMeta)), got))
		}
		if w, g := acsToUnicode(string(wantHist)), tmateCapture(e, true); w != g {
			diffs = append(diffs, "history:\n"+lineDiff(w, g))
		}
		if want, err := os.ReadFile(ref + ".title"); err == nil && strings.TrimSuffix(string(want), "\n") != e.Title() {
			diffs = append(diffs, fmt.Sprintf("title: want %q got %q", strings.TrimSuffix(string(want), "\n"), e.Title()))
		}
		why, known := knownTmateDiffs[name]
		switch {
		case len(diffs) == 0 && known:
			t.Errorf("%s: matches tmate 2.4.0 now, remove it from knownTmateDiffs", name)
		case len(diffs) == 0:
			pass++
		case known:
			t.Logf("%s: known difference from tmate 2.4.0 (%s)", name, why)
		default:
			t.Errorf("%s differs from tmate 2.4.0:\n%s", name, strings.Join(diffs, "\n"))
		}
	}
	t.Logf("tmate 2.4.0 conformance: %d of %d stream and size cases match fully", pass, len(tmateCases(names)))
}

// featureDir holds streams written for one emulation feature each (origin
// mode, tab stops, margins, erase variants...), which the recorded corpus
// touches little or not at all; the e2e parity test plays them too.
const featureDir = "testdata/streams"

func featureNames(t testing.TB) []string {
	m, err := filepath.Glob(filepath.Join(featureDir, "*.bin"))
	if err != nil || len(m) == 0 {
		t.Fatalf("no feature streams in %s", featureDir)
	}
	var names []string
	for _, f := range m {
		names = append(names, strings.TrimSuffix(filepath.Base(f), ".bin"))
	}
	return names
}

// streamPath is where stream name lives: the feature streams, else the
// corpus.
func streamPath(name string) string {
	if p := filepath.Join(featureDir, name+".bin"); fileExists(p) {
		return p
	}
	return filepath.Join(corpusDir, "streams", name+".bin")
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// tmateSizes are the pane sizes each stream is checked at: the size it was
// recorded at, and one row less, as a pane under a status line holds it
// (programs drawing for 24 rows into 23 exercise clamping and scrolling).
var tmateSizes = []struct {
	w, h   int
	suffix string
}{{80, 24, ""}, {80, 23, "@80x23"}}

// tmateCases names every stream at every size: NAME or NAME@WxH.
func tmateCases(names []string) []string {
	var out []string
	for _, sz := range tmateSizes {
		for _, n := range names {
			out = append(out, n+sz.suffix)
		}
	}
	return out
}

func caseSize(c string) (name string, w, h int) {
	name, size, ok := strings.Cut(c, "@")
	w, h = 80, 24
	if ok {
		fmt.Sscanf(size, "%dx%d", &w, &h)
	}
	return name, w, h
}

func runTmateCase(t testing.TB, c string) *Emulator {
	name, w, h := caseSize(c)
	data, err := os.ReadFile(streamPath(name))
	if err != nil {
		t.Fatal(err)
	}
	e := New(w, h, 2000)
	e.Write(data)
	return e
}

// tmateCapture prints the screen (or the history) as tmate 2.4.0's
// capture-pane -p -e prints its grid (grid_string_cells): the pen carries
// over from line to line, an attribute removed starts the change with 0
// without repeating unchanged colours, 256-colour 0-15 print as 38;5;N,
// bright backgrounds (100-107) print no code at all, and trailing spaces are
// trimmed. Printing our cells its way keeps the comparison to what the
// cells are, not how each side prints them.
func tmateCapture(e *Emulator, history bool) string {
	var b []byte
	var last Cell
	n := e.h
	if history {
		n = e.hlen
	}
	for y := 0; y < n; y++ {
		var cells []Cell
		if history {
			cells = e.HistoryLine(y)
		} else {
			cells = e.Line(y)
		}
		cells = trim(cells)
		start := len(b)
		for x, c := range cells {
			if c.Width == 0 && x > 0 && cells[x-1].Width == 2 {
				continue
			}
			b = appendTmateCode(b, &last, &c)
			last = c
			if c.Rune == 0 {
				b = append(b, ' ')
			} else {
				b = c.AppendText(b)
			}
		}
		for len(b) > start && b[len(b)-1] == ' ' {
			b = b[:len(b)-1]
		}
		b = append(b, '\n')
	}
	return string(b)
}

func appendTmateCode(b []byte, last, c *Cell) []byte {
	attrs := [...]struct {
		a    Attr
		code int
	}{{AttrBold, 1}, {AttrDim, 2}, {AttrItalic, 3}, {AttrUnderline, 4}, {AttrBlink, 5}, {AttrReverse, 7}, {AttrHidden, 8}}
	var s []string
	lastAttr := last.Attr
	for _, a := range attrs {
		if c.Attr&a.a == 0 && lastAttr&a.a != 0 {
			s = append(s, "0")
			lastAttr = 0
			break
		}
	}
	for _, a := range attrs {
		if c.Attr&a.a != 0 && lastAttr&a.a == 0 {
			s = append(s, strconv.Itoa(a.code))
		}
	}
	if f, l := tmateColour(c.Fg, false), tmateColour(last.Fg, false); f != l {
		s = appendParts(s, f)
	}
	if f, l := tmateColour(c.Bg, true), tmateColour(last.Bg, true); f != l {
		s = appendParts(s, f)
	}
	if len(s) == 0 {
		return b
	}
	return append(b, "\x1b["+strings.Join(s, ";")+"m"...)
}

// tmateColour is grid_string_cells_fg/bg of tmux 2.4 (comparable, so at
// most five parts).
func tmateColour(c Color, bg bool) (parts [5]string) {
	var p []string
	base := 30
	if bg {
		base = 40
	}
	switch c.Kind() {
	case KindDefault:
		p = []string{strconv.Itoa(base + 9)}
	case KindANSI:
		if n := int(c.Index()); n < 8 {
			p = []string{strconv.Itoa(base + n)}
		} else if !bg {
			p = []string{strconv.Itoa(90 + n - 8)}
		}
	case Kind256:
		p = []string{strconv.Itoa(base + 8), "5", strconv.Itoa(int(c.Index()))}
	case KindRGB:
		r, g, bl := c.RGB()
		p = []string{strconv.Itoa(base + 8), "2", strconv.Itoa(int(r)), strconv.Itoa(int(g)), strconv.Itoa(int(bl))}
	}
	copy(parts[:], p)
	return parts
}

// acsToUnicode replaces the line-drawing characters tmate keeps as ASCII
// between SO and SI (GRID_ATTR_CHARSET) with what the emulator stores, the
// Unicode characters a UTF-8 client is drawn with.
func acsToUnicode(s string) string {
	var b strings.Builder
	acs, esc := false, false
	for _, r := range s {
		switch {
		case esc:
			// capture-pane may change the pen inside an SO run: its
			// sequence is not line drawing.
			b.WriteRune(r)
			esc = r < 0x40 || r > 0x7e || r == '['
		case r == 0x1b:
			b.WriteRune(r)
			esc = true
		case r == 0x0e:
			acs = true
		case r == 0x0f:
			acs = false
		case r == '\n':
			b.WriteRune(r)
		case acs && r < 128 && acsTable[r] != 0:
			b.WriteRune(acsTable[r])
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// captureTmate feeds every stream to its own tmate 2.4.0 server and writes
// what the pane holds into testdata/tmate-2.4.0.
func captureTmate(t *testing.T, names []string) {
	tmate, err := exec.LookPath("tmate")
	if err != nil {
		t.Fatal("-update needs tmate 2.4.0 installed")
	}
	if out, _ := exec.Command(tmate, "-V").CombinedOutput(); strings.TrimSpace(string(out)) != "tmate 2.4.0" {
		t.Fatalf("-update needs tmate 2.4.0, found %q", out)
	}
	if err := os.MkdirAll(tmateDir, 0o755); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	cases := tmateCases(names)
	errs := make([]error, len(cases))
	sem := make(chan struct{}, 4)
	for i, name := range cases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[i] = captureOne(t.TempDir(), name)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("%s: %v", cases[i], err)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

func captureOne(dir, c string) error {
	name, w, h := caseSize(c)
	stream, err := filepath.Abs(streamPath(name))
	if err != nil {
		return err
	}
	// No relay: a closed port on loopback; the pane works all the same.
	conf := filepath.Join(dir, "tmate.conf")
	os.WriteFile(conf, []byte("set -g tmate-server-host 127.0.0.1\nset -g tmate-server-port 1\n"+
		"set -g status off\nset -g history-limit 2000\n"), 0o644)
	sock := filepath.Join(dir, "sock")
	env := []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH"), "TERM=screen-256color", "LANG=C.UTF-8"}
	run := func(args ...string) (string, error) {
		c := exec.Command("tmate", append([]string{"-S", sock}, args...)...)
		c.Env, c.Dir = env, dir
		out, err := c.CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("tmate %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out), nil
	}
	go_, done := filepath.Join(dir, "go"), filepath.Join(dir, "done")
	script := fmt.Sprintf("while [ ! -e %s ]; do sleep 0.05; done; stty -opost; cat %s; touch %s; exec sleep 100000", go_, stream, done)
	if _, err := run("-f", conf, "new-session", "-d", "-x", strconv.Itoa(w), "-y", strconv.Itoa(h), script); err != nil {
		return err
	}
	defer run("kill-server")
	// tmate shows its start-up tips in copy mode; leave it before the
	// stream runs, so no key reaches the pane.
	inMode := func() bool {
		s, _ := run("display", "-p", "#{pane_in_mode}")
		return strings.TrimSpace(s) == "1"
	}
	for i := 0; i < 40 && !inMode(); i++ {
		time.Sleep(50 * time.Millisecond)
	}
	for i := 0; i < 20 && inMode(); i++ {
		run("send-keys", "q")
		time.Sleep(50 * time.Millisecond)
	}
	if inMode() {
		return fmt.Errorf("pane stays in copy mode")
	}
	os.WriteFile(go_, nil, 0o644)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(done); err == nil {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cat did not finish")
		}
		time.Sleep(50 * time.Millisecond)
	}
	state := func() (screen, meta, hist string, err error) {
		if screen, err = run("capture-pane", "-p", "-e"); err != nil {
			return
		}
		if meta, err = run("display", "-p", "#{cursor_x} #{cursor_y} #{alternate_on} #{history_size} #{cursor_flag} #{insert_flag} #{pane_width} #{pane_height} #{pane_in_mode}"); err != nil {
			return
		}
		if f := strings.Fields(meta); len(f) == 9 && f[3] != "0" {
			hist, err = run("capture-pane", "-p", "-e", "-S", "-", "-E", "-1")
		}
		return
	}
	// The server reads the pane asynchronously: wait until it settles.
	var last [3]string
	for stable := 0; stable < 3; {
		time.Sleep(100 * time.Millisecond)
		s, m, h, err := state()
		if err != nil {
			return err
		}
		if [3]string{s, m, h} == last {
			stable++
		} else {
			stable, last = 0, [3]string{s, m, h}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pane does not settle")
		}
	}
	f := strings.Fields(last[1])
	if f[8] != "0" {
		return fmt.Errorf("pane went into a mode: %s", last[1])
	}
	title, err := run("display", "-p", "#{pane_title}")
	if err != nil {
		return err
	}
	// A pane's title starts as the host's name; ours starts empty.
	if host, _ := os.Hostname(); strings.TrimSuffix(title, "\n") == host {
		title = ""
	}
	base := filepath.Join(tmateDir, c)
	for ext, body := range map[string]string{".screen": last[0], ".meta": strings.Join(f[:8], " ") + "\n", ".hist": last[2], ".title": title} {
		if err := os.WriteFile(base+ext, []byte(body), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func appendParts(s []string, p [5]string) []string {
	for _, v := range p {
		if v != "" {
			s = append(s, v)
		}
	}
	return s
}

package protocol

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// sampleMessages is one of each host message, used by the round trip test
// and as fuzz seeds.
func sampleMessages() []HostMessage {
	grid := SnapshotGrid{CX: 3, CY: 1, Lines: []SnapshotLine{
		{Text: "$ ls", Cells: []uint32{0x0808, 0x0808, 0x0808, 0x01000808}},
		{Text: "", Cells: nil},
		{Text: "été\u4e2d", Cells: []uint32{8, 8, 8, 8, 0}},
	}}
	return []HostMessage{
		&Header{ProtocolVersion: 6, ClientVersion: "2.4.0"},
		&Header{ProtocolVersion: 2},
		&SyncLayout{SX: 80, SY: 23, ActiveWindowIdx: 1, Windows: []Window{
			{Idx: 0, Name: "bash", ActivePaneID: 0, Panes: []PaneLayout{{ID: 0, SX: 80, SY: 23}}},
			{Idx: 1, Name: strings.Repeat("w", 300), ActivePaneID: 2, Panes: []PaneLayout{
				{ID: 1, SX: 40, SY: 23}, {ID: 2, SX: 39, SY: 23, XOff: 41},
			}},
		}},
		&SyncLayout{SX: 10000, SY: 0, ActiveWindowIdx: -1, Windows: []Window{{Idx: 5, ActivePaneID: -1, Panes: []PaneLayout{}}}},
		&PtyData{PaneID: 0, Data: []byte("hello\r\n")},
		&PtyData{PaneID: 7, Data: []byte{0xff, 0xfe, 'a', 0xc3}}, // not UTF-8
		&PtyData{PaneID: 1 << 20, Data: bytes.Repeat([]byte{0x1b, '[', 'm'}, 16384/3)},
		&PtyData{PaneID: 0, Data: []byte{}},
		&ExecCmdStr{Cmd: "bind-key C-b send-prefix"},
		&FailedCmd{ClientID: 3, Cause: "unknown command: foo"},
		&FailedCmd{ClientID: -1, Cause: ""},
		&Status{Left: "#[fg=green][0] ", Right: "\"host\" 12:00 01-Jan-20"},
		&SyncCopyMode{PaneID: 0},
		&SyncCopyMode{PaneID: 3, CopyMode: &CopyMode{Backing: true, OY: 1200, CX: 4, CY: 20}},
		&SyncCopyMode{PaneID: 3, CopyMode: &CopyMode{OY: 0, CX: 0, CY: 0,
			Selection: &Selection{X: 2, Y: 1500, Rect: true},
			Input:     &CopyModeInput{Type: 3, Prompt: "Search Down", Str: "foo"}}},
		&WriteCopyMode{PaneID: 0, Text: "Tip: if you wish to use tmate only for remote access, run: tmate -F"},
		&Fin{},
		&Ready{},
		&Reconnect{Data: "opaque.reconnection.data"},
		&Snapshot{Panes: []SnapshotPane{
			{ID: 0, Mode: 0x1, Grid: grid},
			{ID: 4, Mode: 0xffffffff, Grid: grid, Saved: &SnapshotGrid{CX: 0, CY: 0, Lines: []SnapshotLine{}}},
		}},
		&Snapshot{Panes: []SnapshotPane{}},
		&ExecCmd{Argv: []string{"bind-key", "-T", "prefix", "C-b", "send-prefix"}},
		&ExecCmd{Argv: []string{"set-option", "tmate-set", "authorized_keys=ssh-ed25519 AAAA me@host"}},
		&Uname{Sysname: "Linux", Nodename: "box", Release: "6.1.0-18-amd64", Version: "#1 SMP Debian", Machine: "x86_64"},
	}
}

func encodeAll(msgs []HostMessage) []byte {
	var b []byte
	for _, m := range msgs {
		b = AppendHostMessage(b, m)
	}
	return b
}

func TestRoundTrip(t *testing.T) {
	msgs := sampleMessages()
	stream := encodeAll(msgs)
	// A reader returning one byte at a time exercises every buffer boundary.
	d := NewDecoder(&oneByteReader{r: bytes.NewReader(stream)}, Limits{})
	for i, want := range msgs {
		got, err := d.Next()
		if err != nil {
			t.Fatalf("message %d (%T): %v", i+1, want, err)
		}
		if !reflect.DeepEqual(normalize(got), normalize(want)) {
			t.Errorf("message %d:\n got %#v\nwant %#v", i+1, got, want)
		}
		if got.Type() != want.Type() {
			t.Errorf("message %d: Type %v, want %v", i+1, got.Type(), want.Type())
		}
	}
	if _, err := d.Next(); err != io.EOF {
		t.Fatalf("at end: %v, want io.EOF", err)
	}
	if _, err := d.Next(); err != io.EOF {
		t.Fatalf("again at end: %v, want io.EOF", err)
	}
	if d.Offset() != int64(len(stream)) {
		t.Errorf("Offset %d, want %d", d.Offset(), len(stream))
	}
}

// normalize makes nil and empty slices compare equal.
func normalize(m HostMessage) HostMessage {
	switch m := m.(type) {
	case *PtyData:
		if len(m.Data) == 0 {
			return &PtyData{PaneID: m.PaneID}
		}
	case *SyncLayout:
		c := *m
		c.Windows = append([]Window(nil), m.Windows...)
		for i := range c.Windows {
			if len(c.Windows[i].Panes) == 0 {
				c.Windows[i].Panes = nil
			}
		}
		return &c
	case *Snapshot:
		c := &Snapshot{}
		for _, p := range m.Panes {
			p.Grid = normGrid(p.Grid)
			if p.Saved != nil {
				g := normGrid(*p.Saved)
				p.Saved = &g
			}
			c.Panes = append(c.Panes, p)
		}
		return c
	}
	return m
}

func normGrid(g SnapshotGrid) SnapshotGrid {
	var lines []SnapshotLine
	for _, l := range g.Lines {
		if len(l.Cells) == 0 {
			l.Cells = nil
		}
		lines = append(lines, l)
	}
	g.Lines = lines
	return g
}

type oneByteReader struct{ r io.Reader }

func (o *oneByteReader) Read(p []byte) (int, error) {
	if len(p) > 1 {
		p = p[:1]
	}
	return o.r.Read(p)
}

// TestDecodeOtherEncodings feeds values encoded by the msgpack library itself
// (other integer widths, bin instead of str, str8) to check the decoder does
// not depend on AppendHostMessage's choices.
func TestDecodeOtherEncodings(t *testing.T) {
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	enc.UseCompactInts(false) // every int as a full int64
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(enc.Encode([]any{0, 6, "2.4.0"}))
	must(enc.Encode([]any{2, 1, []byte{0xff, 0x00, 0x80}})) // bin
	must(enc.Encode([]any{uint64(2), uint8(1), strings.Repeat("x", 200)}))
	must(enc.Encode([]any{12, "set-option", "-g", "status-right", strings.Repeat("y", 70000)}))
	d := NewDecoder(&buf, Limits{})
	var got []HostMessage
	for {
		m, err := d.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, m)
	}
	want := []HostMessage{
		&Header{ProtocolVersion: 6, ClientVersion: "2.4.0"},
		&PtyData{PaneID: 1, Data: []byte{0xff, 0x00, 0x80}},
		&PtyData{PaneID: 1, Data: []byte(strings.Repeat("x", 200))},
		&ExecCmd{Argv: []string{"set-option", "-g", "status-right", strings.Repeat("y", 70000)}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v\nwant %#v", got, want)
	}
}

// raw builds a message with the msgpack library (for malformed inputs).
func raw(t testing.TB, vs ...any) []byte {
	t.Helper()
	b, err := msgpack.Marshal(vs)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func manyStrings(typ, n int) []any {
	v := []any{typ}
	for i := 0; i < n; i++ {
		v = append(v, "x")
	}
	return v
}

func TestMalformed(t *testing.T) {
	valid := AppendHostMessage(nil, &SyncLayout{SX: 80, SY: 24, ActiveWindowIdx: 0, Windows: []Window{
		{Idx: 0, Name: "bash", ActivePaneID: 0, Panes: []PaneLayout{{ID: 0, SX: 80, SY: 24}}},
	}})
	pty := AppendHostMessage(nil, &PtyData{PaneID: 1, Data: bytes.Repeat([]byte("a"), 1000)})
	cases := []struct {
		name  string
		in    []byte
		lim   Limits
		want  string // substring of the error
		cause error  // errors.Is target, optional
	}{
		{name: "truncated layout", in: valid[:len(valid)-3], want: "message 1 (SYNC_LAYOUT): ", cause: io.ErrUnexpectedEOF},
		{name: "truncated in header", in: []byte{0x93}, want: "message 1: ", cause: io.ErrUnexpectedEOF},
		{name: "truncated pty body", in: pty[:500], want: "message 1 (PTY_DATA): data: truncated", cause: io.ErrUnexpectedEOF},
		{name: "not an array", in: raw(t, 1)[1:], want: "message 1: want array, got int"},
		{name: "map", in: []byte{0x81, 0x01, 0x02}, want: "want array, got map"},
		{name: "empty array", in: []byte{0x90}, want: "empty message array"},
		{name: "type is str", in: raw(t, "x"), want: "message 1: type: want int, got str"},
		{name: "negative type", in: raw(t, -1), want: "type: value -1 out of range"},
		{name: "unknown type", in: raw(t, 14, 1), want: "message 1 (type 14): unknown message type 14", cause: ErrUnknownType},
		{name: "wrong field count", in: raw(t, 2, 1), want: "message 1 (PTY_DATA): want 2 fields after the type, got 1"},
		{name: "header too long", in: raw(t, 0, 6, "2.4.0", 1), want: "want 1 or 2 fields"},
		{name: "ready with field", in: raw(t, 9, 1), want: "(READY): want 0 fields after the type, got 1"},
		{name: "pane sx is str",
			in:   raw(t, 1, 80, 24, []any{[]any{0, "a", []any{[]any{0, 1, 1, 0, 0}}, 0}, []any{1, "b", []any{[]any{1, "80", 1, 0, 0}}, 1}}, 0),
			want: "message 1 (SYNC_LAYOUT): window 1 pane 0: sx: want int, got str"},
		{name: "negative size", in: raw(t, 1, -80, 24, []any{}, 0), want: "(SYNC_LAYOUT): sx: value -80 out of range [0, 10000]"},
		{name: "absurd size", in: raw(t, 1, 80, 1<<40, []any{}, 0), want: "sy: value 1099511627776 out of range"},
		{name: "negative pane id", in: raw(t, 2, -5, "x"), want: "(PTY_DATA): pane_id: value -5 out of range"},
		{name: "uint64 pane id", in: raw(t, 2, uint64(1<<63), "x"), want: "pane_id: value"},
		{name: "data is int", in: raw(t, 2, 0, 5), want: "data: want str, got int"},
		{name: "data is nil", in: raw(t, 2, 0, nil), want: "data: want str, got nil"},
		{name: "float", in: raw(t, 2, 1.5, "x"), want: "pane_id: want int, got float"},
		{name: "window not array", in: raw(t, 1, 80, 24, []any{5}, 0), want: "window 0: want array, got int"},
		{name: "window short", in: raw(t, 1, 80, 24, []any{[]any{0, "a", []any{}}}, 0), want: "window 0: want array of 4 elements, got 3"},
		{name: "too many windows", in: raw(t, 1, 80, 24, []any{[]any{0, "a", []any{}, -1}, []any{1, "b", []any{}, -1}}, 0),
			lim: Limits{MaxWindows: 1}, want: "windows: length 2 out of range [0, 1]"},
		{name: "too many panes over windows",
			in:   raw(t, 1, 80, 24, []any{[]any{0, "a", []any{[]any{0, 1, 1, 0, 0}}, 0}, []any{1, "b", []any{[]any{1, 1, 1, 0, 0}}, 1}}, 0),
			lim:  Limits{MaxPanes: 1},
			want: "window 1: panes: more than 1 panes in the layout"},
		{name: "huge array header", in: []byte{0x95, 0x01, 0x50, 0x18, 0xdd, 0x7f, 0xff, 0xff, 0xff}, want: "windows: length 2147483647 out of range"},
		{name: "huge array header within count limit", in: []byte{0x95, 0x01, 0x50, 0x18, 0xdc, 0x03, 0xe8}, lim: Limits{MaxMessageBytes: 1000}, want: "windows: array of 1000 elements: message too large", cause: ErrMessageTooLarge},
		{name: "huge top-level array", in: []byte{0xdd, 0xff, 0xff, 0xff, 0xff, 0x0c}, want: "message 1: array of 4294967295 elements: message too large", cause: ErrMessageTooLarge},
		{name: "huge exec argv", in: append([]byte{0xdc, 0x10, 0x00, 0x0c}, bytes.Repeat([]byte{0xa0}, 4095)...), want: "(EXEC_CMD): argv: length 4095 out of range [1, 1024]"},
		{name: "empty exec argv", in: raw(t, 12), want: "(EXEC_CMD): empty argv"},
		{name: "exec argv int", in: raw(t, 12, "bind-key", 3), want: "(EXEC_CMD): argv[1]: want str, got int"},
		{name: "huge str header", in: []byte{0x93, 0x02, 0x00, 0xdb, 0xff, 0xff, 0xff, 0xff}, want: "(PTY_DATA): data: 4294967295 bytes: message too large (limit 1048576 bytes)", cause: ErrMessageTooLarge},
		{name: "oversized pty", in: pty, lim: Limits{MaxMessageBytes: 512}, want: "(PTY_DATA): data: 1000 bytes: message too large (limit 512 bytes)", cause: ErrMessageTooLarge},
		{name: "oversized many small fields", in: raw(t, manyStrings(12, 600)...), lim: Limits{MaxMessageBytes: 300}, want: "message too large (limit 300 bytes)", cause: ErrMessageTooLarge},
		{name: "copy mode bad length", in: raw(t, 6, 0, []any{1, 2}), want: "(SYNC_COPY_MODE): copy_mode: want 0 or 6 elements, got 2"},
		{name: "copy mode backing 2", in: raw(t, 6, 0, []any{2, 0, 0, 0, []any{}, []any{}}), want: "copy_mode: backing: value 2 out of range [0, 1]"},
		{name: "selection bad", in: raw(t, 6, 0, []any{1, 0, 0, 0, []any{1, "x", 0}, []any{}}), want: "copy_mode: selection: sely: want int, got str"},
		{name: "input bad", in: raw(t, 6, 0, []any{1, 0, 0, 0, []any{}, []any{1, "p"}}), want: "copy_mode: input: want 0 or 3 elements, got 2"},
		{name: "snapshot saved grid str", in: raw(t, 11, []any{[]any{0, 0, []any{0, 0, []any{}}, "x"}}), want: "(SNAPSHOT): pane 0: saved_grid: want array or nil, got str"},
		{name: "snapshot bad cell", in: raw(t, 11, []any{[]any{0, 0, []any{0, 0, []any{[]any{"ab", []any{1, -2}}}}, nil}}), want: "(SNAPSHOT): pane 0: grid: line 0 cell 1: value -2 out of range [0, 4294967295]"},
		{name: "snapshot cell too big", in: raw(t, 11, []any{[]any{0, 0, []any{0, 0, []any{[]any{"a", []any{uint64(1) << 32}}}}, nil}}), want: "line 0 cell 0: value 4294967296 out of range"},
		{name: "snapshot over its budget", in: AppendHostMessage(nil, &Snapshot{Panes: []SnapshotPane{{Grid: SnapshotGrid{Lines: make([]SnapshotLine, 300)}}}}),
			lim: Limits{MaxSnapshotBytes: 200}, want: "(SNAPSHOT): pane 0: grid: lines: array of 300 elements: message too large (limit 200 bytes)", cause: ErrMessageTooLarge},
		{name: "snapshot too many lines", in: AppendHostMessage(nil, &Snapshot{Panes: []SnapshotPane{{Grid: SnapshotGrid{Lines: make([]SnapshotLine, 301)}}}}),
			lim: Limits{MaxSnapshotLines: 300}, want: "grid: lines: length 301 out of range [0, 300]"},
		{name: "invalid code", in: []byte{0x93, 0x02, 0xc1, 0xa0}, want: "invalid code 0xc1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// The bad message comes second, after a valid one, to check
			// the numbering.
			in := append(AppendHostMessage(nil, &Ready{}), tc.in...)
			d := NewDecoder(bytes.NewReader(in), tc.lim)
			if _, err := d.Next(); err != nil {
				t.Fatalf("first message: %v", err)
			}
			m, err := d.Next()
			if err == nil {
				t.Fatalf("no error, got %#v", m)
			}
			want := strings.Replace(tc.want, "message 1", "message 2", 1)
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q\n does not contain %q", err, want)
			}
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %T is not a *DecodeError", err)
			}
			if de.Message != 2 || de.Offset != 2 {
				t.Errorf("Message %d Offset %d, want 2 and 2", de.Message, de.Offset)
			}
			if tc.cause != nil && !errors.Is(err, tc.cause) {
				t.Errorf("error %q is not %v", err, tc.cause)
			}
			if _, err2 := d.Next(); err2 != err {
				t.Errorf("error not sticky: %v", err2)
			}
		})
	}
}

// TestOversizedFailsFast checks that the decoder stops reading as soon as a
// message passes the limit instead of reading the whole message.
func TestOversizedFailsFast(t *testing.T) {
	// A str32 header announcing a lot, with the body arriving forever.
	head := []byte{0x93, 0x02, 0x00, 0xdb, 0x7f, 0xff, 0xff, 0xff}
	r := io.MultiReader(bytes.NewReader(head), infiniteReader{})
	_, err := NewDecoder(r, Limits{}).Next()
	if !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("got %v", err)
	}
	// Many small strings, each fine alone: the byte count stops it.
	var b []byte
	b = appendArray(b, 100000)
	b = appendInt(b, int64(MsgExecCmd))
	cr := &countReader{r: io.MultiReader(bytes.NewReader(b), infiniteReader{})}
	_, err = NewDecoder(cr, Limits{MaxArgs: 200000, MaxMessageBytes: 4096}).Next()
	if !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("got %v", err)
	}
	if cr.n > 4096+64<<10 {
		t.Errorf("read %d bytes before failing", cr.n)
	}
}

type infiniteReader struct{}

func (infiniteReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 0xa1 // fixstr of 1 byte, or its body
	}
	return len(p), nil
}

type countReader struct {
	r io.Reader
	n int
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestEncoder(t *testing.T) {
	var buf bytes.Buffer
	e := NewEncoder(&buf)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	const metaUp = 0x100000000000 + 65 | 0x200000000000
	must(e.Notify("ssh session: ssh -p10022 abc@relay"))
	must(e.LegacyPaneKey(13))
	must(e.Resize(-1, -1))
	must(e.Resize(200, 49))
	must(e.ExecCmdStr(2, "new-window"))
	must(e.SetEnv("tmate_ssh", strings.Repeat("z", 40)))
	must(e.Ready())
	must(e.PaneKey(-1, 'q'))
	must(e.PaneKey(3, metaUp))
	must(e.PaneKey(3, ^uint64(0)))
	must(e.ExecCmd(5, "select-pane", "-t", "%1"))
	if err := e.ExecCmd(5); err != ErrEmptyArgv {
		t.Errorf("ExecCmd without argv: %v", err)
	}
	want := [][]any{
		{int8(0), "ssh session: ssh -p10022 abc@relay"},
		{int8(1), int8(13)},
		{int8(2), int8(-1), int8(-1)},
		{int8(2), uint8(200), int8(49)},
		{int8(3), int8(2), "new-window"},
		{int8(4), "tmate_ssh", strings.Repeat("z", 40)},
		{int8(5)},
		{int8(6), int8(-1), int8('q')},
		{int8(6), int8(3), uint64(metaUp)},
		{int8(6), int8(3), ^uint64(0)},
		{int8(7), int8(5), "select-pane", "-t", "%1"},
	}
	d := msgpack.NewDecoder(&buf)
	for i, w := range want {
		var got []any
		if err := d.Decode(&got); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if !reflect.DeepEqual(got, w) {
			t.Errorf("message %d: got %#v, want %#v", i, got, w)
		}
	}
	if buf.Len() != 0 {
		t.Errorf("%d bytes left", buf.Len())
	}
}

func TestEncoderExactBytes(t *testing.T) {
	var buf bytes.Buffer
	e := NewEncoder(&buf)
	_ = e.PaneKey(-1, 0x400000000000|0x100000000000+65) // C-Up
	_ = e.Resize(80, 23)
	_ = e.Ready()
	want := []byte{
		0x93, 0x06, 0xff, 0xcf, 0, 0, 0x50, 0, 0, 0, 0, 0x41,
		0x93, 0x02, 0x50, 0x17,
		0x91, 0x05,
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("got % x\nwant % x", buf.Bytes(), want)
	}
}

func TestEncoderLegacyStrings(t *testing.T) {
	var buf bytes.Buffer
	e := NewEncoder(&buf)
	e.SetClientProtocol(4)
	msg := UnsupportedVersionNotice(4, "")
	if len(msg) < 32 || len(msg) > 255 {
		t.Fatalf("notice length %d does not exercise str8", len(msg))
	}
	_ = e.Notify(msg)
	b := buf.Bytes()
	if b[2] != 0xda {
		t.Errorf("legacy string header 0x%02x, want 0xda (raw16)", b[2])
	}
	buf.Reset()
	e.SetClientProtocol(6)
	_ = e.Notify(msg)
	if b := buf.Bytes(); b[2] != 0xd9 {
		t.Errorf("string header 0x%02x, want 0xd9 (str8)", b[2])
	}
}

// writeCounter records each Write call.
type writeCounter struct {
	mu     sync.Mutex
	writes [][]byte
}

func (w *writeCounter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes = append(w.writes, append([]byte(nil), p...))
	return len(p), nil
}

func TestEncoderConcurrent(t *testing.T) {
	w := &writeCounter{}
	e := NewEncoder(w)
	var wg sync.WaitGroup
	const n = 200
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < n; i++ {
				if g%2 == 0 {
					_ = e.PaneKey(g, uint64(i))
				} else {
					_ = e.Notify(strings.Repeat("n", i))
				}
			}
		}()
	}
	wg.Wait()
	if len(w.writes) != 8*n {
		t.Fatalf("%d writes, want %d (one per message)", len(w.writes), 8*n)
	}
	for i, p := range w.writes {
		var v []any
		if err := msgpack.Unmarshal(p, &v); err != nil {
			t.Fatalf("write %d is not one message: %v", i, err)
		}
	}
}

type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) {
	f.n++
	return 0, errors.New("channel closed")
}

func TestEncoderStickyError(t *testing.T) {
	f := &failWriter{}
	e := NewEncoder(f)
	if err := e.Ready(); err == nil {
		t.Fatal("no error")
	}
	if err := e.Notify("x"); err == nil || f.n != 1 {
		t.Fatalf("err %v after %d writes", err, f.n)
	}
}

func TestUnsupportedVersionNotice(t *testing.T) {
	if s := UnsupportedVersionNotice(6, "2.4.0"); s != "" {
		t.Errorf("protocol 6: %q", s)
	}
	s := UnsupportedVersionNotice(5, "2.2.0")
	for _, w := range []string{"tmate 2.2.1 or later", "2.4.0", "tmate 2.2.0", "protocol 5"} {
		if !strings.Contains(s, w) {
			t.Errorf("%q lacks %q", s, w)
		}
	}
	if s := UnsupportedVersionNotice(7, "3.0"); !strings.Contains(s, "protocol 7") {
		t.Errorf("protocol 7: %q", s)
	}
}

func TestMsgTypeString(t *testing.T) {
	if MsgSyncLayout.String() != "SYNC_LAYOUT" || MsgUname.String() != "UNAME" || MsgType(42).String() != "type 42" {
		t.Error("bad names")
	}
}

func FuzzDecoder(f *testing.F) {
	for _, m := range sampleMessages() {
		f.Add(AppendHostMessage(nil, m))
	}
	f.Add(encodeAll(sampleMessages()))
	if b, err := readRecording(); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		d := NewDecoder(bytes.NewReader(in), Limits{MaxMessageBytes: 1 << 16, MaxSnapshotBytes: 1 << 16})
		var msgs []HostMessage
		for {
			m, err := d.Next()
			if err != nil {
				if err != io.EOF {
					var de *DecodeError
					if !errors.As(err, &de) || de.Err == nil {
						t.Fatalf("error %v is not a *DecodeError", err)
					}
				}
				break
			}
			msgs = append(msgs, m)
		}
		// What decodes re-encodes to something that decodes the same.
		again := NewDecoder(bytes.NewReader(encodeAll(msgs)), Limits{MaxMessageBytes: 1 << 17, MaxSnapshotBytes: 1 << 17})
		for i, want := range msgs {
			got, err := again.Next()
			if err != nil {
				t.Fatalf("re-decoding message %d: %v", i+1, err)
			}
			if !reflect.DeepEqual(normalize(got), normalize(want)) {
				t.Fatalf("message %d: got %#v, want %#v", i+1, got, want)
			}
		}
	})
}

// PaneKeys writes what PaneKey writes for each key, in one Write.
func TestEncoderPaneKeysInOneWrite(t *testing.T) {
	keys := []uint64{'a', 0x400000000000 | 0x100000000000 + 65, ^uint64(0), '\r'}
	var each, batch writeCounter
	for _, k := range keys {
		if err := NewEncoder(&each).PaneKey(3, k); err != nil {
			t.Fatal(err)
		}
	}
	if err := NewEncoder(&batch).PaneKeys(3, keys); err != nil {
		t.Fatal(err)
	}
	if got, want := bytes.Join(batch.writes, nil), bytes.Join(each.writes, nil); !bytes.Equal(got, want) {
		t.Errorf("got % x\nwant % x", got, want)
	}
	if len(batch.writes) != 1 {
		t.Errorf("%d writes, want 1", len(batch.writes))
	}
}

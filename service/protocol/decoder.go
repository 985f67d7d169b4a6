package protocol

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"

	"tmate-relay/service/internal/faultinject"
)

// ErrMessageTooLarge is the cause (see DecodeError.Err) when a message is
// larger than its Limits allow.
var ErrMessageTooLarge = errors.New("message too large")

// ErrUnknownType is the cause when a message type is not a known one.
var ErrUnknownType = errors.New("unknown message type")

// DecodeError says what is wrong with the host stream and where. After one,
// the Decoder returns the same error forever: the connection is over.
type DecodeError struct {
	Message int64   // number of the message in the stream, from 1
	Offset  int64   // byte offset in the stream where that message starts
	Type    MsgType // -1 when the type was not read yet
	Path    string  // field path, e.g. "window 1 pane 0: sx"; may be ""
	Err     error   // cause: io.ErrUnexpectedEOF, ErrMessageTooLarge, ...
}

func (e *DecodeError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "message %d", e.Message)
	if e.Type >= 0 {
		fmt.Fprintf(&b, " (%s)", e.Type)
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *DecodeError) Unwrap() error { return e.Err }

// WrongTypeError is the cause when a value has the wrong msgpack type.
type WrongTypeError struct {
	Want, Got string
}

func (e *WrongTypeError) Error() string { return "want " + e.Want + ", got " + e.Got }

// RangeError is the cause when an integer or a length is out of bounds.
type RangeError struct {
	What     string // "value", "length"
	Value    int64
	Min, Max int64
}

func (e *RangeError) Error() string {
	return fmt.Sprintf("%s %d out of range [%d, %d]", e.What, e.Value, e.Min, e.Max)
}

// pathErr carries the field path while an error unwinds.
type pathErr struct {
	path string
	err  error
}

func (e *pathErr) Error() string { return e.path + ": " + e.err.Error() }

// at prefixes err's path with seg. Numbered segments follow each other with
// a space ("window 1 pane 0"), anything else with ": ".
func at(seg string, err error) error {
	pe, ok := err.(*pathErr)
	if !ok {
		return &pathErr{path: seg, err: err}
	}
	switch {
	case pe.path == "":
		pe.path = seg
	case endsWithDigit(seg) && endsWithDigit(firstSegment(pe.path)):
		pe.path = seg + " " + pe.path
	default:
		pe.path = seg + ": " + pe.path
	}
	return pe
}

func endsWithDigit(s string) bool { return s != "" && s[len(s)-1] >= '0' && s[len(s)-1] <= '9' }

// firstSegment returns path up to its first ": ", minus any following
// numbered segments ("pane 0" of "pane 0 line 2: x").
func firstSegment(path string) string {
	if i := strings.Index(path, ": "); i >= 0 {
		path = path[:i]
	}
	// "pane 0 line 2" -> "pane 0"
	if f := strings.Fields(path); len(f) >= 2 {
		return f[0] + " " + f[1]
	}
	return path
}

// countingReader counts the bytes of the current message and refuses to go
// past its limit, so an oversized message fails as soon as it gets too large.
type countingReader struct {
	br    *bufio.Reader
	n     int64 // bytes consumed in the current message
	limit int64
	over  bool // a read went past limit in the current message
}

func (c *countingReader) Read(p []byte) (int, error) {
	rem := c.limit - c.n
	if rem <= 0 {
		if len(p) == 0 {
			return 0, nil
		}
		c.over = true
		return 0, ErrMessageTooLarge
	}
	if int64(len(p)) > rem {
		p = p[:rem]
	}
	k, err := c.br.Read(p)
	c.n += int64(k)
	return k, err
}

func (c *countingReader) ReadByte() (byte, error) {
	if c.n >= c.limit {
		c.over = true
		return 0, ErrMessageTooLarge
	}
	b, err := c.br.ReadByte()
	if err == nil {
		c.n++
	}
	return b, err
}

func (c *countingReader) UnreadByte() error {
	err := c.br.UnreadByte()
	if err == nil {
		c.n--
	}
	return err
}

func (c *countingReader) remaining() int64 { return c.limit - c.n }

// Decoder reads host->relay messages from a stream. It is not safe for
// concurrent use; one goroutine reads each host.
type Decoder struct {
	cr      countingReader
	md      *msgpack.Decoder
	lim     Limits
	num     int64 // messages decoded so far
	off     int64 // stream offset of the current message
	last    int   // size of the last message
	err     error // sticky
	scratch []byte
}

// NewDecoder returns a Decoder reading r (typically an SSH channel) with the
// given limits (zero fields take the defaults).
func NewDecoder(r io.Reader, lim Limits) *Decoder {
	d := &Decoder{lim: lim.withDefaults()}
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, 32<<10)
	}
	d.cr.br = br
	d.md = msgpack.NewDecoder(&d.cr)
	return d
}

// Offset is the number of bytes of the stream consumed by complete messages.
func (d *Decoder) Offset() int64 { return d.off }

// LastSize is the encoded size in bytes of the message Next returned last.
func (d *Decoder) LastSize() int { return d.last }

// Next decodes the next message. At the end of the stream between two
// messages it returns io.EOF; any other problem is a *DecodeError, returned
// again by every later call.
func (d *Decoder) Next() (HostMessage, error) {
	if d.err != nil {
		return nil, d.err
	}
	d.cr.n, d.cr.over = 0, false
	d.cr.limit = int64(d.lim.MaxMessageBytes)
	typ := MsgType(-1)
	msg, err := d.message(&typ)
	if err != nil {
		if err == io.EOF && d.cr.n == 0 {
			d.err = io.EOF
			return nil, io.EOF
		}
		de := &DecodeError{Message: d.num + 1, Offset: d.off, Type: typ}
		if pe, ok := err.(*pathErr); ok {
			de.Path, err = pe.path, pe.err
		}
		if d.cr.over && !errors.Is(err, ErrMessageTooLarge) {
			err = ErrMessageTooLarge
		}
		de.Err = cause(err)
		if errors.Is(de.Err, ErrMessageTooLarge) {
			de.Err = fmt.Errorf("%w (limit %d bytes)", de.Err, d.cr.limit)
		}
		d.err = de
		return nil, de
	}
	d.num++
	d.off += d.cr.n
	d.last = int(d.cr.n)
	if faultinject.Hook != nil {
		faultinject.Hook(faultinject.Decoder, msg)
	}
	return msg, nil
}

// cause maps reader errors met inside a message to clear causes.
func cause(err error) error {
	switch {
	case errors.Is(err, ErrMessageTooLarge):
		return err
	case err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("truncated: %w", io.ErrUnexpectedEOF)
	}
	return err
}

func (d *Decoder) message(typ *MsgType) (HostMessage, error) {
	c, err := d.md.PeekCode()
	if err != nil {
		return nil, err
	}
	if !isArray(c) {
		return nil, &WrongTypeError{Want: "array", Got: codeName(c)}
	}
	n, err := d.md.DecodeArrayLen()
	if err != nil {
		return nil, err
	}
	if n < 1 {
		return nil, errors.New("empty message array")
	}
	if int64(n) > d.cr.remaining() {
		return nil, fmt.Errorf("array of %d elements: %w", n, ErrMessageTooLarge)
	}
	t, err := d.int("type", 0, math.MaxInt32)
	if err != nil {
		return nil, err
	}
	*typ = MsgType(t)
	n-- // fields after the type
	want := func(k int) error {
		if n != k {
			return fmt.Errorf("want %d fields after the type, got %d", k, n)
		}
		return nil
	}
	switch *typ {
	case MsgHeader:
		return d.header(n)
	case MsgSyncLayout:
		if err := want(4); err != nil {
			return nil, err
		}
		return d.syncLayout()
	case MsgPtyData:
		if err := want(2); err != nil {
			return nil, err
		}
		m := &PtyData{}
		if m.PaneID, err = d.paneID("pane_id"); err != nil {
			return nil, err
		}
		if m.Data, err = d.bytes("data"); err != nil {
			return nil, err
		}
		return m, nil
	case MsgExecCmdStr:
		if err := want(1); err != nil {
			return nil, err
		}
		m := &ExecCmdStr{}
		m.Cmd, err = d.str("cmd")
		return m, err
	case MsgFailedCmd:
		if err := want(2); err != nil {
			return nil, err
		}
		m := &FailedCmd{}
		if m.ClientID, err = d.intn("client_id", -1, math.MaxInt32); err != nil {
			return nil, err
		}
		m.Cause, err = d.str("cause")
		return m, err
	case MsgStatus:
		if err := want(2); err != nil {
			return nil, err
		}
		m := &Status{}
		if m.Left, err = d.str("left"); err != nil {
			return nil, err
		}
		m.Right, err = d.str("right")
		return m, err
	case MsgSyncCopyMode:
		if err := want(2); err != nil {
			return nil, err
		}
		return d.syncCopyMode()
	case MsgWriteCopyMode:
		if err := want(2); err != nil {
			return nil, err
		}
		m := &WriteCopyMode{}
		if m.PaneID, err = d.paneID("pane_id"); err != nil {
			return nil, err
		}
		m.Text, err = d.str("text")
		return m, err
	case MsgFin:
		return &Fin{}, want(0)
	case MsgReady:
		return &Ready{}, want(0)
	case MsgReconnect:
		if err := want(1); err != nil {
			return nil, err
		}
		m := &Reconnect{}
		m.Data, err = d.str("reconnection_data")
		return m, err
	case MsgSnapshot:
		if err := want(1); err != nil {
			return nil, err
		}
		d.cr.limit = int64(d.lim.MaxSnapshotBytes)
		return d.snapshot()
	case MsgExecCmd:
		if n < 1 {
			return nil, errors.New("empty argv")
		}
		if n > d.lim.MaxArgs {
			return nil, at("argv", &RangeError{What: "length", Value: int64(n), Min: 1, Max: int64(d.lim.MaxArgs)})
		}
		m := &ExecCmd{Argv: make([]string, n)}
		for i := range m.Argv {
			if m.Argv[i], err = d.str(argName(i)); err != nil {
				return nil, err
			}
		}
		return m, nil
	case MsgUname:
		if err := want(5); err != nil {
			return nil, err
		}
		m := &Uname{}
		for _, f := range []struct {
			name string
			dst  *string
		}{{"sysname", &m.Sysname}, {"nodename", &m.Nodename}, {"release", &m.Release}, {"version", &m.Version}, {"machine", &m.Machine}} {
			if *f.dst, err = d.str(f.name); err != nil {
				return nil, err
			}
		}
		return m, nil
	}
	return nil, fmt.Errorf("%w %d", ErrUnknownType, t)
}

func cellName(i int) string { return fmt.Sprintf("cell %d", i) }

func argName(i int) string { return fmt.Sprintf("argv[%d]", i) }

func (d *Decoder) header(n int) (HostMessage, error) {
	if n < 1 || n > 2 {
		return nil, fmt.Errorf("want 1 or 2 fields after the type, got %d", n)
	}
	m := &Header{}
	var err error
	if m.ProtocolVersion, err = d.intn("protocol_version", 0, math.MaxInt32); err != nil {
		return nil, err
	}
	if n == 2 {
		m.ClientVersion, err = d.str("client_version")
	}
	return m, err
}

func (d *Decoder) syncLayout() (HostMessage, error) {
	m := &SyncLayout{}
	var err error
	if m.SX, err = d.size("sx"); err != nil {
		return nil, err
	}
	if m.SY, err = d.size("sy"); err != nil {
		return nil, err
	}
	nw, err := d.arrayLen("windows", d.lim.MaxWindows, 5)
	if err != nil {
		return nil, err
	}
	m.Windows = make([]Window, nw)
	panes := 0
	for i := range m.Windows {
		if err := d.window(&m.Windows[i], &panes); err != nil {
			return nil, at(fmt.Sprintf("window %d", i), err)
		}
	}
	if m.ActiveWindowIdx, err = d.intn("active_window_idx", -1, math.MaxInt32); err != nil {
		return nil, err
	}
	return m, nil
}

func (d *Decoder) window(w *Window, panes *int) error {
	if err := d.fixedArray("", 4); err != nil {
		return err
	}
	var err error
	if w.Idx, err = d.intn("idx", 0, math.MaxInt32); err != nil {
		return err
	}
	if w.Name, err = d.str("name"); err != nil {
		return err
	}
	np, err := d.arrayLen("panes", d.lim.MaxPanes, 6)
	if err != nil {
		return err
	}
	if *panes += np; *panes > d.lim.MaxPanes {
		return at("panes", fmt.Errorf("more than %d panes in the layout", d.lim.MaxPanes))
	}
	w.Panes = make([]PaneLayout, np)
	for i := range w.Panes {
		p := &w.Panes[i]
		err := d.fixedArray("", 5)
		if err == nil {
			p.ID, err = d.paneID("id")
		}
		if err == nil {
			p.SX, err = d.size("sx")
		}
		if err == nil {
			p.SY, err = d.size("sy")
		}
		if err == nil {
			p.XOff, err = d.size("xoff")
		}
		if err == nil {
			p.YOff, err = d.size("yoff")
		}
		if err != nil {
			return at(fmt.Sprintf("pane %d", i), err)
		}
	}
	w.ActivePaneID, err = d.intn("active_pane_id", -1, math.MaxInt32)
	return err
}

func (d *Decoder) syncCopyMode() (HostMessage, error) {
	m := &SyncCopyMode{}
	var err error
	if m.PaneID, err = d.paneID("pane_id"); err != nil {
		return nil, err
	}
	n, err := d.arrayLen("copy_mode", 6, 1)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return m, nil
	}
	if n != 6 {
		return nil, at("copy_mode", fmt.Errorf("want 0 or 6 elements, got %d", n))
	}
	cm := &CopyMode{}
	backing, err := d.int("backing", 0, 1)
	if err != nil {
		return nil, at("copy_mode", err)
	}
	cm.Backing = backing == 1
	if cm.OY, err = d.intn("oy", 0, math.MaxInt32); err == nil {
		if cm.CX, err = d.size("cx"); err == nil {
			cm.CY, err = d.size("cy")
		}
	}
	if err != nil {
		return nil, at("copy_mode", err)
	}
	ns, err := d.arrayLen("selection", 3, 1)
	if err == nil && ns != 0 {
		if ns != 3 {
			err = at("selection", fmt.Errorf("want 0 or 3 elements, got %d", ns))
		} else {
			s := &Selection{}
			var rect int
			if s.X, err = d.size("selx"); err == nil {
				if s.Y, err = d.intn("sely", math.MinInt32, math.MaxInt32); err == nil {
					rect, err = d.intn("rectflag", 0, 1)
				}
			}
			s.Rect = rect == 1
			if err != nil {
				err = at("selection", err)
			}
			cm.Selection = s
		}
	}
	if err != nil {
		return nil, at("copy_mode", err)
	}
	ni, err := d.arrayLen("input", 3, 1)
	if err == nil && ni != 0 {
		if ni != 3 {
			err = at("input", fmt.Errorf("want 0 or 3 elements, got %d", ni))
		} else {
			in := &CopyModeInput{}
			if in.Type, err = d.intn("type", 0, 255); err == nil {
				if in.Prompt, err = d.str("prompt"); err == nil {
					in.Str, err = d.str("str")
				}
			}
			if err != nil {
				err = at("input", err)
			}
			cm.Input = in
		}
	}
	if err != nil {
		return nil, at("copy_mode", err)
	}
	m.CopyMode = cm
	return m, nil
}

func (d *Decoder) snapshot() (HostMessage, error) {
	np, err := d.arrayLen("panes", d.lim.MaxPanes, 7)
	if err != nil {
		return nil, err
	}
	m := &Snapshot{Panes: make([]SnapshotPane, np)}
	for i := range m.Panes {
		if err := d.snapshotPane(&m.Panes[i]); err != nil {
			return nil, at(fmt.Sprintf("pane %d", i), err)
		}
	}
	return m, nil
}

func (d *Decoder) snapshotPane(p *SnapshotPane) error {
	if err := d.fixedArray("", 4); err != nil {
		return err
	}
	var err error
	if p.ID, err = d.paneID("id"); err != nil {
		return err
	}
	mode, err := d.int("screen_mode", 0, math.MaxUint32)
	if err != nil {
		return err
	}
	p.Mode = uint32(mode)
	if err := d.grid(&p.Grid); err != nil {
		return at("grid", err)
	}
	c, err := d.md.PeekCode()
	if err != nil {
		return err
	}
	if c == msgpcode.Nil {
		return d.md.DecodeNil()
	}
	if !isArray(c) {
		return at("saved_grid", &WrongTypeError{Want: "array or nil", Got: codeName(c)})
	}
	p.Saved = &SnapshotGrid{}
	if err := d.grid(p.Saved); err != nil {
		return at("saved_grid", err)
	}
	return nil
}

func (d *Decoder) grid(g *SnapshotGrid) error {
	if err := d.fixedArray("", 3); err != nil {
		return err
	}
	var err error
	if g.CX, err = d.size("cx"); err != nil {
		return err
	}
	if g.CY, err = d.size("cy"); err != nil {
		return err
	}
	nl, err := d.arrayLen("lines", d.lim.MaxSnapshotLines, 3)
	if err != nil {
		return err
	}
	g.Lines = make([]SnapshotLine, nl)
	for i := range g.Lines {
		l := &g.Lines[i]
		err := d.fixedArray("", 2)
		if err == nil {
			l.Text, err = d.str("text")
		}
		var nc int
		if err == nil {
			nc, err = d.arrayLen("cells", d.lim.MaxSize, 1)
		}
		if err == nil {
			l.Cells = make([]uint32, nc)
			for j := range l.Cells {
				var v int64
				if v, err = d.int(cellName(j), 0, math.MaxUint32); err != nil {
					break
				}
				l.Cells[j] = uint32(v)
			}
		}
		if err != nil {
			return at(fmt.Sprintf("line %d", i), err)
		}
	}
	return nil
}

// Field readers. Each returns a *pathErr naming the field on failure.

func (d *Decoder) paneID(field string) (int, error) { return d.intn(field, 0, math.MaxInt32) }

func (d *Decoder) size(field string) (int, error) { return d.intn(field, 0, int64(d.lim.MaxSize)) }

func (d *Decoder) intn(field string, lo, hi int64) (int, error) {
	v, err := d.int(field, lo, hi)
	return int(v), err
}

func (d *Decoder) int(field string, lo, hi int64) (int64, error) {
	c, err := d.md.PeekCode()
	if err != nil {
		return 0, err
	}
	var v int64
	switch {
	case msgpcode.IsFixedNum(c):
		if _, err := d.cr.ReadByte(); err != nil {
			return 0, err
		}
		v = int64(int8(c))
	case c == msgpcode.Uint64:
		u, err := d.md.DecodeUint64()
		if err != nil {
			return 0, err
		}
		if u > math.MaxInt64 {
			return 0, &pathErr{field, &RangeError{What: "value", Value: math.MaxInt64, Min: lo, Max: hi}}
		}
		v = int64(u)
	case c >= msgpcode.Uint8 && c <= msgpcode.Int64:
		if v, err = d.md.DecodeInt64(); err != nil {
			return 0, err
		}
	default:
		return 0, &pathErr{field, &WrongTypeError{Want: "int", Got: codeName(c)}}
	}
	if v < lo || v > hi {
		return 0, &pathErr{field, &RangeError{What: "value", Value: v, Min: lo, Max: hi}}
	}
	return v, nil
}

// bytesLen reads a str or bin header and checks that the body fits in what
// is left of the message.
func (d *Decoder) bytesLen(field string) (int, error) {
	c, err := d.md.PeekCode()
	if err != nil {
		return 0, err
	}
	if !msgpcode.IsString(c) && !msgpcode.IsBin(c) {
		return 0, &pathErr{field, &WrongTypeError{Want: "str", Got: codeName(c)}}
	}
	n, err := d.md.DecodeBytesLen()
	if err != nil {
		return 0, err
	}
	if int64(n) > d.cr.remaining() {
		return 0, &pathErr{field, fmt.Errorf("%d bytes: %w", n, ErrMessageTooLarge)}
	}
	return n, nil
}

func (d *Decoder) bytes(field string) ([]byte, error) {
	n, err := d.bytesLen(field)
	if err != nil {
		return nil, err
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(&d.cr, b); err != nil {
		return nil, &pathErr{field, err}
	}
	return b, nil
}

func (d *Decoder) str(field string) (string, error) {
	n, err := d.bytesLen(field)
	if err != nil {
		return "", err
	}
	if n == 0 {
		return "", nil
	}
	if cap(d.scratch) < n {
		d.scratch = make([]byte, n)
	}
	b := d.scratch[:n]
	if _, err := io.ReadFull(&d.cr, b); err != nil {
		return "", &pathErr{field, err}
	}
	s := string(b)
	if cap(d.scratch) > 64<<10 {
		d.scratch = nil // do not keep a huge buffer around
	}
	return s, nil
}

// arrayLen reads an array header of at most max elements, each taking at
// least minElem bytes, so that nothing is allocated for elements that cannot
// be in the rest of the message.
func (d *Decoder) arrayLen(field string, max, minElem int) (int, error) {
	c, err := d.md.PeekCode()
	if err != nil {
		return 0, err
	}
	if !isArray(c) {
		return 0, wrapField(field, &WrongTypeError{Want: "array", Got: codeName(c)})
	}
	n, err := d.md.DecodeArrayLen()
	if err != nil {
		return 0, err
	}
	if n > max {
		return 0, wrapField(field, &RangeError{What: "length", Value: int64(n), Min: 0, Max: int64(max)})
	}
	if int64(n)*int64(minElem) > d.cr.remaining() {
		return 0, wrapField(field, fmt.Errorf("array of %d elements: %w", n, ErrMessageTooLarge))
	}
	return n, nil
}

// fixedArray reads an array header that must have exactly n elements.
func (d *Decoder) fixedArray(field string, n int) error {
	got, err := d.arrayLen(field, math.MaxInt32, 1)
	if err != nil {
		return err
	}
	if got != n {
		return wrapField(field, fmt.Errorf("want array of %d elements, got %d", n, got))
	}
	return nil
}

func wrapField(field string, err error) error {
	if field == "" {
		return err
	}
	return &pathErr{field, err}
}

func isArray(c byte) bool {
	return msgpcode.IsFixedArray(c) || c == msgpcode.Array16 || c == msgpcode.Array32
}

// codeName names the msgpack type a code starts.
func codeName(c byte) string {
	switch {
	case msgpcode.IsFixedNum(c), c >= msgpcode.Uint8 && c <= msgpcode.Int64:
		return "int"
	case msgpcode.IsString(c):
		return "str"
	case msgpcode.IsBin(c):
		return "bin"
	case isArray(c):
		return "array"
	case msgpcode.IsFixedMap(c), c == msgpcode.Map16, c == msgpcode.Map32:
		return "map"
	case c == msgpcode.Nil:
		return "nil"
	case c == msgpcode.True, c == msgpcode.False:
		return "bool"
	case c == msgpcode.Float, c == msgpcode.Double:
		return "float"
	case msgpcode.IsExt(c):
		return "ext"
	}
	return fmt.Sprintf("invalid code 0x%02x", c)
}

// Package vt is the pane emulator: it turns a program's output (the bytes of
// PTY_DATA) into a grid of cells with history, as tmux's input.c, grid.c and
// screen-write.c do. Nothing else writes a pane's cells.
package vt

// Color is a cell colour. The top byte says which kind, the rest the value,
// so the renderer can send back exactly the SGR form the program used
// (tmux keeps the same distinction).
type Color uint32

const (
	ColorDefault Color = 0
	kindANSI     Color = 1 << 24 // 0-7: SGR 30-37/40-47, 8-15: SGR 90-97/100-107
	kind256      Color = 2 << 24 // SGR 38;5;n / 48;5;n
	kindRGB      Color = 3 << 24 // SGR 38;2;r;g;b / 48;2;r;g;b
	kindMask     Color = 0xff << 24
)

// ColorKind tells how a Color was set.
type ColorKind uint8

const (
	KindDefault ColorKind = iota
	KindANSI
	Kind256
	KindRGB
)

// ANSI returns one of the 16 basic colours (8-15 are the bright 90-97 forms).
func ANSI(n uint8) Color { return kindANSI | Color(n&15) }

// Palette returns colour n of the 256-colour palette.
func Palette(n uint8) Color { return kind256 | Color(n) }

// RGB returns a direct colour.
func RGB(r, g, b uint8) Color { return kindRGB | Color(r)<<16 | Color(g)<<8 | Color(b) }

// Kind reports how the colour was set.
func (c Color) Kind() ColorKind { return ColorKind(c >> 24) }

// Index is the colour number for KindANSI and Kind256.
func (c Color) Index() uint8 { return uint8(c) }

// RGB returns the components of a KindRGB colour.
func (c Color) RGB() (r, g, b uint8) { return uint8(c >> 16), uint8(c >> 8), uint8(c) }

// Attr is a set of cell attributes.
type Attr uint16

const (
	AttrBold Attr = 1 << iota
	AttrDim
	AttrItalic
	AttrUnderline // SGR 4 (4:1)
	AttrBlink
	AttrReverse
	AttrHidden
	AttrStrike
	AttrDoubleUnderline // SGR 21 or 4:2
	AttrCurlyUnderline  // 4:3
	AttrDottedUnderline // 4:4
	AttrDashedUnderline // 4:5
	AttrOverline        // SGR 53
)

// Cell is one grid position: 16 bytes, so a pane with 2000 full lines of
// 100 columns stays near 3 MB.
type Cell struct {
	// Rune is the character; 0 means never written (drawn as a space).
	// Values at or above ClusterBase stand for a grapheme of several code
	// points (a base and its combining marks); Cell.String resolves them.
	Rune   rune
	Fg, Bg Color
	Attr   Attr
	// Width is 1, or 2 for the first cell of a wide character; the cell
	// after a wide character has Width 0 and is drawn by its left neighbour.
	Width uint8
	_     uint8
}

package vt

import (
	"sync"
	"unicode/utf8"
)

// ClusterBase is the first Cell.Rune value that stands for an interned
// grapheme (a base character followed by combining marks) rather than a
// single code point. It is above the Unicode range, so it never collides
// with a real rune.
const ClusterBase rune = 0x110000

// maxClusters bounds the intern table: the host controls these bytes, so
// the table must not grow without limit. When it is full, new clusters are
// not created and extra combining marks are dropped (the cell keeps what it
// had).
const maxClusters = 1 << 16

// maxClusterBytes mirrors tmux's UTF8_SIZE in 3.x (21 bytes of UTF-8 per
// cell); marks beyond it are dropped, as tmux does.
const maxClusterBytes = 21

var clusters = struct {
	sync.RWMutex
	byText map[string]rune
	texts  []string
}{byText: make(map[string]rune)}

// clusterText returns the text of an interned cluster.
func clusterText(r rune) string {
	i := int(r - ClusterBase)
	clusters.RLock()
	defer clusters.RUnlock()
	if i < 0 || i >= len(clusters.texts) {
		return ""
	}
	return clusters.texts[i]
}

// appendMark returns the cell rune for r followed by mark, or r itself when
// the mark cannot be added (table full or cluster too long).
func appendMark(r rune, mark rune) rune {
	var buf [maxClusterBytes + utf8.UTFMax]byte
	var b []byte
	if r >= ClusterBase {
		b = append(buf[:0], clusterText(r)...)
	} else {
		if r == 0 {
			r = ' '
		}
		b = utf8.AppendRune(buf[:0], r)
	}
	if len(b)+utf8.RuneLen(mark) > maxClusterBytes {
		return r
	}
	b = utf8.AppendRune(b, mark)
	clusters.RLock()
	id, ok := clusters.byText[string(b)] // no allocation for the lookup
	clusters.RUnlock()
	if ok {
		return id
	}
	clusters.Lock()
	defer clusters.Unlock()
	if id, ok := clusters.byText[string(b)]; ok {
		return id
	}
	if len(clusters.texts) >= maxClusters {
		return r
	}
	s := string(b)
	id = ClusterBase + rune(len(clusters.texts))
	clusters.texts = append(clusters.texts, s)
	clusters.byText[s] = id
	return id
}

// String returns the cell's text: "" for a never-written or padding cell,
// otherwise the character with any combining marks.
func (c Cell) String() string {
	switch {
	case c.Rune == 0:
		return ""
	case c.Rune >= ClusterBase:
		return clusterText(c.Rune)
	default:
		return string(c.Rune)
	}
}

// AppendText appends the cell's text to b, as String does, without
// allocating for single code points.
func (c Cell) AppendText(b []byte) []byte {
	switch {
	case c.Rune == 0:
		return b
	case c.Rune >= ClusterBase:
		return append(b, clusterText(c.Rune)...)
	default:
		return utf8.AppendRune(b, c.Rune)
	}
}

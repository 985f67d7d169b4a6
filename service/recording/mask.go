package recording

import (
	"strings"

	"tmate-relay/service/guest"
	"tmate-relay/service/vt"
)

// The session's tokens are on its screen (tmate's start-up tips and
// messages list the ssh and web addresses) but never go into a recording:
// each is drawn as asterisks of the same length. A token wrapped across
// lines or cut by a pane's edge is caught by its pieces: a run of token
// characters that is the start or the end of a token, minPiece long or
// more (tokens are long and random, so such a piece names no other text).

// minPiece is the shortest piece of a wrapped token that is masked.
const minPiece = 6

func tokenChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_'
}

// maskTokens overwrites the tokens in f's cells.
func maskTokens(f *guest.Frame, tokens []string) {
	var run []rune
	for y := 0; y < f.H; y++ {
		row := f.Cells[y*f.W : (y+1)*f.W]
		for x := 0; x < len(row); {
			if !tokenChar(row[x].Rune) {
				x++
				continue
			}
			end := x
			run = run[:0]
			for end < len(row) && tokenChar(row[end].Rune) {
				run = append(run, row[end].Rune)
				end++
			}
			maskRun(row[x:end], string(run), tokens)
			x = end
		}
	}
}

// maskRun masks cells (a run of token characters, text) where they hold a
// token or a piece of one.
func maskRun(cells []guestCell, text string, tokens []string) {
	for _, tok := range tokens {
		if tok == "" {
			continue
		}
		for from := 0; ; {
			i := strings.Index(text[from:], tok)
			if i < 0 {
				break
			}
			star(cells[from+i : from+i+len(tok)])
			from += i + len(tok)
		}
		// The start of a run may end a token wrapped from the line above,
		// its end start one wrapped to the next.
		for n := min(len(tok)-1, len(text)); n >= minPiece; n-- {
			if strings.HasSuffix(tok, text[:n]) {
				star(cells[:n])
				break
			}
		}
		for n := min(len(tok)-1, len(text)); n >= minPiece; n-- {
			if strings.HasPrefix(tok, text[len(text)-n:]) {
				star(cells[len(text)-n:])
				break
			}
		}
	}
}

func star(cells []guestCell) {
	for i := range cells {
		cells[i].Rune = '*'
	}
}

// guestCell is a frame's cell.
type guestCell = vt.Cell

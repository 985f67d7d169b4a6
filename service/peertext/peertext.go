// Package peertext bounds text a peer (a host, a guest, a browser) chose
// before it reaches a log line or a message someone reads: a host's
// client_version of 900,000 characters must not become a 900,000-character
// log line.
package peertext

import (
	"strconv"
	"unicode/utf8"
)

// Short is enough for a version, a name or an address; Long for a header
// such as a browser's Origin.
const (
	Short = 64
	Long  = 256
)

// Cut returns s when it is at most n bytes long; otherwise its first n
// bytes (fewer, not to split a UTF-8 character) and a marker saying how
// long s was.
func Cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "...[" + strconv.Itoa(len(s)) + " bytes, cut]"
}

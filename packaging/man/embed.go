// Package man holds the hand-written manual page tmate-relay(8).
package man

import "embed"

// Files holds tmate-relay.8 (troff).
//
//go:embed tmate-relay.8
var Files embed.FS

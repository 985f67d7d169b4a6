// Package debian holds the Debian maintainer scripts, copyright and changelog
// of both packages. They are embedded so that an installed relay can build the
// client package (tmate-relay packages) without this source tree.
package debian

import "embed"

// Files is this directory: tmate-relay.* and elephant-shed-tmate.* scripts,
// copyright, changelog, lintian overrides.
//
//go:embed tmate-relay.* elephant-shed-tmate.* copyright changelog
var Files embed.FS

// Package rpm holds the RPM scriptlets (%pre, %post, %preun, %postun) of both
// packages, embedded for the same reason as package debian.
package rpm

import "embed"

// Files is this directory: tmate-relay.* and elephant-shed-tmate.* scriptlets.
//
//go:embed tmate-relay.* elephant-shed-tmate.*
var Files embed.FS

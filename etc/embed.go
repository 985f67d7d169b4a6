// Package etc holds shipped files for /etc that the package builder takes
// as they are; relay.toml is read by path (packaging/cmd/build).
package etc

import "embed"

// Files is logrotate.d/tmate-relay, the audit file's rotation.
//
//go:embed logrotate.d/tmate-relay
var Files embed.FS

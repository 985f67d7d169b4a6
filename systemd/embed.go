// Package systemd holds the relay's units and its sysusers.d entry, embedded
// so that the package builder and its tests read exactly what ships.
package systemd

import "embed"

// Files is this directory: tmate-relay.socket, tmate-relay-http.socket,
// tmate-relay-admin.socket,
// tmate-relay.service and tmate-relay.sysusers.
//
//go:embed tmate-relay.socket tmate-relay-http.socket tmate-relay-admin.socket tmate-relay.service tmate-relay.sysusers
var Files embed.FS

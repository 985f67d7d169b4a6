// Package cluster holds the examples for running several relays as one
// (docs/scaling.md): an HAProxy configuration and a node's relay.toml,
// shipped in the package's doc folder.
package cluster

import "embed"

// Files are haproxy.cfg and relay-node.toml.
//
//go:embed haproxy.cfg relay-node.toml
var Files embed.FS

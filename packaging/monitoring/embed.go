// Package monitoring holds what the package ships for watching a relay:
// Prometheus alert rules and a Grafana dashboard over its metrics
// (service/metrics), installed under /usr/share/tmate-relay/.
package monitoring

import "embed"

// Files holds tmate-relay-alerts.yml and tmate-relay-dashboard.json.
//
//go:embed tmate-relay-alerts.yml tmate-relay-dashboard.json
var Files embed.FS

// Names of the shipped files, as installed under /usr/share/tmate-relay/.
const (
	Alerts    = "tmate-relay-alerts.yml"
	Dashboard = "tmate-relay-dashboard.json"
)

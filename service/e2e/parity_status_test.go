package e2e

// statusParityCases are the parity workloads for the status line: window flags, styles, formats.
var statusParityCases = []parityCase{}

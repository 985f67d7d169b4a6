package e2e

// emulationParityCases are the parity workloads for what pane programs do to the terminal: modes, paste, cursor styles, titles.
var emulationParityCases = []parityCase{}

package e2e

// localViewParityCases are the parity workloads for views a guest draws itself: pane numbers, the key list, prompts.
var localViewParityCases = []parityCase{}

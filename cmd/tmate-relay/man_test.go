package main

import (
	"regexp"
	"strings"
	"testing"

	"tmate-relay/packaging/man"
)

// Every command has its own entry in tmate-relay(8).
func TestManPageDocumentsEveryCommand(t *testing.T) {
	page, err := man.Files.ReadFile("tmate-relay.8")
	if err != nil {
		t.Fatal(err)
	}
	for name := range commands {
		// An entry: .TP, then its tag: .B name, .BR name ..., .BI "name ..., \fBname\fR
		entry := regexp.MustCompile(`(?m)^\.TP\n(\.B[RI]? "?|\\fB)` + regexp.QuoteMeta(strings.ReplaceAll(name, "-", `\-`)) + `\b`)
		if !entry.Match(page) {
			t.Errorf("tmate-relay(8) has no entry for %q", name)
		}
	}
}

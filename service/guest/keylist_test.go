package guest

import (
	"os"
	"strings"
	"testing"
)

// TestKeyListMatchesTmate compares the key list of tmate 2.4.0's default
// bindings, as the host replicates them, with what a real tmate 2.4.0
// prints for `list-keys` (testdata/tmate-2.4.0-list-keys.txt, captured
// from `tmate -f /dev/null -S SOCKET list-keys`).
func TestKeyListMatchesTmate(t *testing.T) {
	want, err := os.ReadFile("testdata/tmate-2.4.0-list-keys.txt")
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(keyListLines(defaultTable(t).List(), ""), "\n") + "\n"
	if got != string(want) {
		t.Errorf("key list differs from tmate's (- tmate, + guest):\n%s", goldenDiff(got, string(want)))
	}
}

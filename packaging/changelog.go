package packaging

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/goreleaser/chglog"
	"go.yaml.in/yaml/v3"
)

var (
	debHeadRe    = regexp.MustCompile(`^(\S+) \(([^)]+)\) ([^;]+); urgency=(\S+)$`)
	debTrailerRe = regexp.MustCompile(`^ -- (.+?)  (.+)$`)
)

// debChangelog parses a Debian changelog (debian/changelog, the one place
// where changes are written) into chglog entries, for the rpm %changelog.
func debChangelog(text []byte) (chglog.ChangeLogEntries, error) {
	var entries chglog.ChangeLogEntries
	var cur *chglog.ChangeLog
	sc := bufio.NewScanner(bytes.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case strings.TrimSpace(line) == "":
		case debHeadRe.MatchString(line):
			m := debHeadRe.FindStringSubmatch(line)
			cur = &chglog.ChangeLog{Semver: m[2]}
		case cur != nil && strings.HasPrefix(line, "  * "):
			cur.Changes = append(cur.Changes, &chglog.ChangeLogChange{Note: strings.TrimPrefix(line, "  * ")})
		case cur != nil && strings.HasPrefix(line, "    ") && len(cur.Changes) > 0:
			last := cur.Changes[len(cur.Changes)-1]
			last.Note += " " + strings.TrimSpace(line)
		case cur != nil && debTrailerRe.MatchString(line):
			m := debTrailerRe.FindStringSubmatch(line)
			t, err := time.Parse(time.RFC1123Z, m[2])
			if err != nil {
				return nil, fmt.Errorf("changelog line %d: %w", n, err)
			}
			cur.Packager, cur.Date = m[1], t
			entries = append(entries, cur)
			cur = nil
		default:
			return nil, fmt.Errorf("changelog line %d: unexpected %q", n, line)
		}
	}
	if cur != nil {
		return nil, fmt.Errorf("changelog: entry %s has no trailer", cur.Semver)
	}
	if len(entries) == 0 {
		return nil, fmt.Errorf("changelog: no entries")
	}
	return entries, nil
}

// writeChglog writes entries as the chglog YAML file nfpm's Changelog wants.
func writeChglog(entries chglog.ChangeLogEntries, path string) error {
	b, err := yaml.Marshal(entries)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

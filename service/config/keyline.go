package config

import (
	"strconv"
	"strings"
)

// keyLines maps every key of a TOML document (dotted, as toml.Key.String
// spells it) to the 1-based line where it is defined. Tables map to their
// header line; keys inside an inline table are not listed, so lookups fall
// back to the nearest enclosing key.
//
// It is only run on documents the TOML parser already accepted, so it can be
// lenient: it only has to skip what could look like a key but is not one
// (multi-line strings and arrays).
type keyLines map[string]int

func scanKeyLines(doc string) keyLines {
	kl := keyLines{}
	var (
		table    []string
		inString string // the open multi-line string delimiter, if any
		depth    int    // open [ and { of a value spanning lines
	)
	for i, line := range strings.Split(doc, "\n") {
		n := i + 1
		rest := line
		if inString != "" {
			end := closeMultiline(rest, inString)
			if end < 0 {
				continue
			}
			rest = rest[end:]
			inString = ""
			inString, depth = scanValue(rest, depth)
			continue
		}
		if depth > 0 {
			inString, depth = scanValue(rest, depth)
			continue
		}
		t := strings.TrimSpace(rest)
		if t == "" || t[0] == '#' {
			continue
		}
		if t[0] == '[' {
			t = strings.TrimPrefix(strings.TrimPrefix(t, "["), "[")
			parts, _ := parseKey(t)
			if parts == nil {
				continue
			}
			table = parts
			kl.add(table, n)
			continue
		}
		parts, after := parseKey(t)
		if parts == nil {
			continue
		}
		after = strings.TrimSpace(after)
		if !strings.HasPrefix(after, "=") {
			continue
		}
		full := append(append([]string{}, table...), parts...)
		kl.add(full, n)
		inString, depth = scanValue(after[1:], 0)
	}
	return kl
}

func (kl keyLines) add(key []string, line int) {
	// Every prefix is defined at least as early as the key itself
	// (dotted keys define their parent tables implicitly).
	for i := 1; i <= len(key); i++ {
		s := joinKey(key[:i])
		if _, ok := kl[s]; !ok {
			kl[s] = line
		}
	}
}

// line returns the line of key, or of its nearest defined parent, or 0.
func (kl keyLines) line(key ...string) int {
	for i := len(key); i > 0; i-- {
		if n, ok := kl[joinKey(key[:i])]; ok {
			return n
		}
	}
	return 0
}

// joinKey spells a key the way toml.Key.String does for the bare keys this
// schema uses; other keys get quoted, which is consistent within this file.
func joinKey(parts []string) string {
	q := make([]string, len(parts))
	for i, p := range parts {
		if isBare(p) {
			q[i] = p
		} else {
			q[i] = strconv.Quote(p)
		}
	}
	return strings.Join(q, ".")
}

func isBare(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// parseKey reads a dotted key (bare, "basic" or 'literal' parts) from the
// start of s and returns its parts and what follows it.
func parseKey(s string) ([]string, string) {
	var parts []string
	for {
		s = strings.TrimLeft(s, " \t")
		if s == "" {
			return nil, ""
		}
		switch s[0] {
		case '"':
			end := 1
			for end < len(s) && s[end] != '"' {
				if s[end] == '\\' {
					end++
				}
				end++
			}
			if end >= len(s) {
				return nil, ""
			}
			p, err := strconv.Unquote(s[:end+1])
			if err != nil {
				p = s[1:end]
			}
			parts = append(parts, p)
			s = s[end+1:]
		case '\'':
			end := strings.IndexByte(s[1:], '\'')
			if end < 0 {
				return nil, ""
			}
			parts = append(parts, s[1:1+end])
			s = s[end+2:]
		default:
			end := 0
			for end < len(s) && isBare(s[end:end+1]) {
				end++
			}
			if end == 0 {
				return nil, ""
			}
			parts = append(parts, s[:end])
			s = s[end:]
		}
		s = strings.TrimLeft(s, " \t")
		if !strings.HasPrefix(s, ".") {
			return parts, s
		}
		s = s[1:]
	}
}

// scanValue reads the rest of a line holding (part of) a value and reports
// whether it leaves a multi-line string open and how many brackets are open.
func scanValue(s string, depth int) (string, int) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '#':
			return "", depth
		case '[', '{':
			depth++
		case ']', '}':
			if depth > 0 {
				depth--
			}
		case '"', '\'':
			delim := string(c)
			if strings.HasPrefix(s[i:], strings.Repeat(delim, 3)) {
				delim = strings.Repeat(delim, 3)
				end := closeMultiline(s[i+3:], delim)
				if end < 0 {
					return delim, depth
				}
				i += 3 + end - 1
				continue
			}
			j := i + 1
			for j < len(s) && s[j] != c {
				if c == '"' && s[j] == '\\' {
					j++
				}
				j++
			}
			i = j
		}
	}
	return "", depth
}

// closeMultiline returns the offset just past the closing delimiter of a
// multi-line string in s, or -1 when the string continues on the next line.
func closeMultiline(s, delim string) int {
	for i := 0; i+len(delim) <= len(s); i++ {
		if delim[0] == '"' && s[i] == '\\' {
			i++
			continue
		}
		if strings.HasPrefix(s[i:], delim) {
			end := i + len(delim)
			// Up to two quotes may directly precede the closing delimiter.
			for end < len(s) && s[end] == delim[0] && end-i < len(delim)+2 {
				end++
			}
			return end
		}
	}
	return -1
}

package config

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// Startups is [limits] max_startups parsed: OpenSSH's MaxStartups
// start:rate:full.
type Startups struct {
	Start int // connections always admitted
	Rate  int // percent dropped at Start, rising linearly to 100 at Full
	Full  int // connections never exceeded
}

func (s Startups) String() string { return fmt.Sprintf("%d:%d:%d", s.Start, s.Rate, s.Full) }

// ParseStartups reads "start:rate:full" (1 <= rate <= 100, start <= full,
// start >= 1), or a single number N, a hard cap: "N:100:N".
func ParseStartups(text string) (Startups, error) {
	f := strings.Split(text, ":")
	if len(f) != 1 && len(f) != 3 {
		return Startups{}, fmt.Errorf("must be START:RATE:FULL, such as %q, or one number (a hard cap)", DefaultMaxStartups)
	}
	n := make([]int, len(f))
	for i, p := range f {
		v, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil {
			return Startups{}, fmt.Errorf("%q is not a number: it must be START:RATE:FULL, such as %q", p, DefaultMaxStartups)
		}
		n[i] = v
	}
	if len(n) == 1 {
		n = []int{n[0], 100, n[0]}
	}
	s := Startups{Start: n[0], Rate: n[1], Full: n[2]}
	switch {
	case s.Start < 1:
		return s, fmt.Errorf("start %d must be at least 1", s.Start)
	case s.Rate < 1 || s.Rate > 100:
		return s, fmt.Errorf("rate %d must be a percentage, 1..100", s.Rate)
	case s.Full < s.Start:
		return s, fmt.Errorf("full %d must not be below start %d", s.Full, s.Start)
	}
	return s, nil
}

// olderNames are the keys max_startups replaces.
var olderNames = []string{"unauthenticated_per_address", "unauthenticated_per_address_max"}

// startups fills in l.Startups from max_startups, or from its older names
// unauthenticated_per_address (start) and unauthenticated_per_address_max
// (full), which an edited relay.toml kept across an upgrade still holds;
// it returns the notes that tell the administrator the new name.
func (v *validator) startups(md *toml.MetaData, l *Limits, d Limits) []string {
	oldStart, oldFull := olderNames[0], olderNames[1]
	var old []string
	for _, k := range olderNames {
		if md.IsDefined("limits", k) {
			old = append(old, k)
		}
	}
	if md.IsDefined("limits", "max_startups") {
		for _, k := range old {
			v.add([]string{"limits", k}, "%s is the older name of part of max_startups, which is set too: remove it", k)
		}
		s, err := ParseStartups(l.MaxStartups)
		if err != nil {
			v.add([]string{"limits", "max_startups"}, "max_startups %q: %v", l.MaxStartups, err)
		}
		l.Startups = s
		return nil
	}
	l.MaxStartups, l.Startups = d.MaxStartups, d.Startups
	if len(old) == 0 {
		return nil
	}
	v.count(&l.UnauthenticatedPerAddress, 10, oldStart)
	v.count(&l.UnauthenticatedPerAddressMax, 30, oldFull)
	l.Startups = Startups{Start: l.UnauthenticatedPerAddress, Rate: 30, Full: max(l.UnauthenticatedPerAddressMax, l.UnauthenticatedPerAddress)}
	l.MaxStartups = l.Startups.String()
	var notes []string
	for _, k := range old {
		line := v.lines.line("limits", k)
		notes = append(notes, fmt.Sprintf("%s:%d: %s is an older name: write max_startups = %q in [limits] instead (start:rate:full; the default %q lets more guests behind one address join at once)",
			v.name, line, k, l.MaxStartups, DefaultMaxStartups))
	}
	return notes
}

// Notes are what the relay should warn of in its configuration, each as
// "FILE:LINE: text": keys still read under an older name.
func (c *Config) Notes() []string { return c.notes }

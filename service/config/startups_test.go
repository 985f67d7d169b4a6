package config

import (
	"reflect"
	"testing"
)

// A relay.toml kept across an upgrade may still hold max_startups' older
// names: they keep working, and the relay is told where and what to write
// instead.
func TestStartupsFromOlderNames(t *testing.T) {
	for _, tc := range []struct {
		name  string
		doc   string
		want  Startups
		notes []string
	}{
		{"max_startups", "[limits]\nmax_startups = \"5:40:50\"\n", Startups{5, 40, 50}, nil},
		{"one number: a hard cap", "[limits]\nmax_startups = \"7\"\n", Startups{7, 100, 7}, nil},
		{"neither: the default", "[limits]\n", Startups{10, 30, 100}, nil},
		{"both older names", "[limits]\nunauthenticated_per_address = 10\nunauthenticated_per_address_max = 30\n", Startups{10, 30, 30}, []string{
			`relay.toml:2: unauthenticated_per_address is an older name: write max_startups = "10:30:30" in [limits] instead (start:rate:full; the default "10:30:100" lets more guests behind one address join at once)`,
			`relay.toml:3: unauthenticated_per_address_max is an older name: write max_startups = "10:30:30" in [limits] instead (start:rate:full; the default "10:30:100" lets more guests behind one address join at once)`,
		}},
		{"start only: full as before (30)", "[limits]\nunauthenticated_per_address = 4\n", Startups{4, 30, 30}, []string{
			`relay.toml:2: unauthenticated_per_address is an older name: write max_startups = "4:30:30" in [limits] instead (start:rate:full; the default "10:30:100" lets more guests behind one address join at once)`,
		}},
		{"full not above start: a hard cap", "[limits]\nunauthenticated_per_address = 40\nunauthenticated_per_address_max = 20\n", Startups{40, 30, 40}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("relay.toml", tc.doc)
			if err != nil {
				t.Fatal(err)
			}
			if c.Limits.Startups != tc.want {
				t.Errorf("Startups %v, want %v", c.Limits.Startups, tc.want)
			}
			if tc.notes != nil && !reflect.DeepEqual(c.Notes(), tc.notes) {
				t.Errorf("notes\n%q\nwant\n%q", c.Notes(), tc.notes)
			}
		})
	}
}

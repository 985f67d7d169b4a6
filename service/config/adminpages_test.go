package config

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// testHash is bcrypt (cost 4) of "s3cret pass".
const testHash = "$2a$04$6x.osI6oX8v/k72MJnYkueJspbEzk2B0fGzML7L.pOitDjpZDrJqu"

func TestAdminPages(t *testing.T) {
	for _, tc := range []struct {
		name   string
		doc    string
		pages  bool
		users  map[string]string
		header string
	}{
		{"off by default", "[admin]\nsocket = \"\"\n", false, nil, ""},
		{"empty users table is off", "[admin.users]\n", false, nil, ""},
		{"users", "[admin.users]\nalice = \"" + testHash + "\"\n", true, map[string]string{"alice": testHash}, ""},
		{"inline users", "[admin]\nusers = { \"bob smith\" = \"" + testHash + "\" }\n", true, map[string]string{"bob smith": testHash}, ""},
		{"trusted header canonical", "[admin]\ntrusted_header = \"x-forwarded-user\"\n", true, nil, "X-Forwarded-User"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("/etc/tmate-relay/relay.toml", tc.doc)
			if err != nil {
				t.Fatal(err)
			}
			if c.Admin.Pages() != tc.pages || !reflect.DeepEqual(c.Admin.Users, tc.users) || c.Admin.TrustedHeader != tc.header {
				t.Errorf("[admin] = %+v (pages %v), want pages %v users %v trusted_header %q", c.Admin, c.Admin.Pages(), tc.pages, tc.users, tc.header)
			}
		})
	}
}

func TestAdminPagesErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		doc  string
		line int
		want string
	}{
		{"plain password", "[admin.users]\n\nalice = \"hunter2\"\n", 3, `user "alice": password hash not a password hash`},
		{"cut bcrypt", "[admin.users]\nalice = \"" + testHash[:30] + "\"\n", 2, `user "alice": password hash not a valid bcrypt hash`},
		{"argon2i", "[admin.users]\nalice = \"$argon2i$v=19$m=1024,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA\"\n", 2, "only argon2id"},
		{"colon in name", "[admin.users]\n\"a:b\" = \"" + testHash + "\"\n", 2, `user name "a:b" must not be empty or hold a colon`},
		{"empty name", "[admin.users]\n\"\" = \"" + testHash + "\"\n", 2, `user name "" must not be empty`},
		{"users not a table", "[admin]\nusers = [\"alice\"]\n", 2, "admin.users"},
		{"hash not a string", "[admin.users]\nalice = 3\n", 2, "alice"},
		{"header with space", "[admin]\ntrusted_header = \"X User\"\n", 2, `trusted_header "X User" is not an HTTP header name`},
		{"header browsers send", "[admin]\ntrusted_header = \"authorization\"\n", 2, `trusted_header "authorization" is a header browsers send themselves`},
		{"header and users", "[admin]\ntrusted_header = \"X-User\"\n[admin.users]\nalice = \"" + testHash + "\"\n", 2, "trusted_header and users are both set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, tc.doc)
			_, err := Load(p)
			if err == nil {
				t.Fatalf("Load accepted:\n%s", tc.doc)
			}
			msg := err.Error()
			if prefix := p + ":" + strconv.Itoa(tc.line) + ": "; !strings.HasPrefix(msg, prefix) || strings.Contains(msg, "\n") {
				t.Errorf("error %q\nis not one problem starting with %q", msg, prefix)
			}
			if !strings.Contains(msg, tc.want) {
				t.Errorf("error %q\ndoes not contain %q", msg, tc.want)
			}
		})
	}
}

// Passwords over plain HTTP are worth a warning; over HTTPS, or behind a
// TLS proxy (public_url https://), they are not.
func TestAdminUsersWithoutTLSNote(t *testing.T) {
	users := "[admin.users]\nalice = \"" + testHash + "\"\n"
	for _, tc := range []struct {
		name, doc string
		note      bool
	}{
		{"plain http", users, true},
		{"https public_url", "[web]\npublic_url = \"https://relay.example.com\"\n" + users, false},
		{"trusted header", "[admin]\ntrusted_header = \"X-Forwarded-User\"\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("relay.toml", tc.doc)
			if err != nil {
				t.Fatal(err)
			}
			notes := strings.Join(c.Notes(), "\n")
			if got := strings.Contains(notes, "use HTTPS"); got != tc.note {
				t.Errorf("notes %q, want a note about HTTPS: %v", notes, tc.note)
			}
			if tc.note && !strings.HasPrefix(notes, "relay.toml:") {
				t.Errorf("note %q does not name the file and line", notes)
			}
		})
	}
}

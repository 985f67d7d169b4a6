package config

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"

	"tmate-relay/service/password"
)

// untrustableHeaders are set by browsers themselves or mean something
// else to the relay: naming one as [admin] trusted_header would let any
// browser in.
var untrustableHeaders = []string{"Authorization", "Cookie", "Host", "Origin", "Referer", "User-Agent", "Content-Type", "Content-Length", "Accept", "Connection", "Upgrade"}

// checkAdminPages checks [admin] users and trusted_header, after [web].
func (v *validator) checkAdminPages(md *toml.MetaData, c *Config) {
	a := &c.Admin
	if len(a.Users) == 0 && md.IsDefined("admin", "users") && md.Type("admin", "users") != "Hash" {
		v.add([]string{"admin", "users"}, "admin.users must be a table of user names and password hashes (found %s)", strings.ToLower(md.Type("admin", "users")))
	}
	if len(a.Users) > 0 && a.TrustedHeader != "" {
		v.add([]string{"admin", "trusted_header"}, "trusted_header and users are both set: behind an authenticating proxy the header alone decides, so remove users (or the header)")
	}
	names := make([]string, 0, len(a.Users))
	for name := range a.Users {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		key := []string{"admin", "users", name}
		if name == "" || strings.ContainsAny(name, ":") || strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			v.add(key, "user name %q must not be empty or hold a colon or control characters (HTTP Basic authentication)", name)
		}
		if err := password.Check(a.Users[name]); err != nil {
			v.add(key, "user %q: password hash %s", name, err)
		}
	}
	if len(a.Users) == 0 {
		a.Users = nil
	} else if c.Web.TLSCert == "" && !strings.HasPrefix(c.Web.PublicURL, "https://") {
		c.notes = append(c.notes, fmt.Sprintf("%s:%d: [admin] users log in to the admin pages with passwords, but [web] has no tls_cert and public_url is not https://: use HTTPS (or a TLS proxy) so that they do not cross the network readable",
			v.name, v.lines.line("admin", "users")))
	}
	if h := a.TrustedHeader; h != "" {
		if !headerName(h) {
			v.add([]string{"admin", "trusted_header"}, "trusted_header %q is not an HTTP header name", h)
			return
		}
		a.TrustedHeader = http.CanonicalHeaderKey(h)
		if slices.Contains(untrustableHeaders, a.TrustedHeader) {
			v.add([]string{"admin", "trusted_header"}, "trusted_header %q is a header browsers send themselves; name the one your proxy sets (such as X-Forwarded-User)", h)
		}
	}
}

// headerName reports whether h is an HTTP header field name (a token of
// RFC 9110: letters, digits and !#$%&'*+-.^_`|~).
func headerName(h string) bool {
	return h != "" && !strings.ContainsFunc(h, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("!#$%&'*+-.^_`|~", r))
	})
}

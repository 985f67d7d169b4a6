package packaging

import (
	"fmt"
	"net/mail"
	"os"
	"os/exec"
	"strings"
)

// The maintainer is set when the packages are built (MAINTAINER="Name
// <mail>"). Without it, a build takes DEBFULLNAME and DEBEMAIL, as dch and
// dh_make do, else the git identity (user.name, user.email) of the tree it
// builds: the person who builds the packages answers for them. Nothing is
// made up from the machine: a build host is typically root on a name
// without a domain, which lintian refuses (root-in-contact,
// bogus-mail-host), and a made-up address receives no mail.

// DefaultMaintainer is the maintainer of a build of the tree in root that
// was given none.
func DefaultMaintainer(root string) (string, error) {
	if name, email := os.Getenv("DEBFULLNAME"), os.Getenv("DEBEMAIL"); name != "" && email != "" {
		return name + " <" + email + ">", nil
	}
	git := func(key string) string {
		out, _ := exec.Command("git", "-C", root, "config", key).Output()
		return strings.TrimSpace(string(out))
	}
	name, email := git("user.name"), git("user.email")
	if name == "" || email == "" {
		return "", fmt.Errorf(`no maintainer: set MAINTAINER="Name <mail>" (or DEBFULLNAME and DEBEMAIL, or git's user.name and user.email)`)
	}
	return name + " <" + email + ">", nil
}

// CheckMaintainer reports why m is no maintainer Debian and rpm tools
// accept: it must be "Name <user@domain>" with a dotted domain and
// neither name nor user root (lintian: malformed-contact, no-phrase,
// bogus-mail-host, root-in-contact).
func CheckMaintainer(m string) error {
	a, err := mail.ParseAddress(m)
	if err != nil {
		return fmt.Errorf("maintainer %q: want \"Name <mail>\": %w", m, err)
	}
	user, host, _ := strings.Cut(a.Address, "@")
	switch {
	case strings.TrimSpace(a.Name) == "":
		return fmt.Errorf("maintainer %q: no name: want \"Name <mail>\"", m)
	case user == "root" || a.Name == "root":
		return fmt.Errorf("maintainer %q: root is no contact; name a person or team", m)
	case !strings.Contains(host, ".") || strings.HasSuffix(host, ".") || strings.EqualFold(host, "localhost.localdomain"):
		return fmt.Errorf("maintainer %q: the mail domain %q is not one mail can reach", m, host)
	}
	return nil
}

// clientMaintainer is the maintainer of the client packages a relay at
// host writes: the one its build was given, else the relay's own system
// user on its machine, the closest thing to who runs it.
func clientMaintainer(host string) string {
	if CheckMaintainer(Maintainer) == nil {
		return Maintainer
	}
	return "tmate-relay on " + host + " <tmate-relay@" + host + ">"
}

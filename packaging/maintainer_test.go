package packaging

import (
	"debug/buildinfo"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"tmate-relay/debian"
)

func TestCheckMaintainer(t *testing.T) {
	for _, tc := range []struct {
		m  string
		ok bool
	}{
		{"Jane Doe <jane@corp.example.com>", true},
		{"Relay Team <relay-team@ops.example.org>", true},
		{"jane@corp.example.com", false},          // no name
		{"Jane Doe", false},                       // no address
		{"root <root@relay.example.org>", false},  // root
		{"Admin <root@relay.example.org>", false}, // root
		{"Jane Doe <jane@localhost>", false},      // no domain
		{"Jane Doe <jane@buildbox>", false},       // no domain
		{"", false},
	} {
		if err := CheckMaintainer(tc.m); (err == nil) != tc.ok {
			t.Errorf("CheckMaintainer(%q) = %v, want ok %v", tc.m, err, tc.ok)
		}
	}
}

func TestDefaultMaintainer(t *testing.T) {
	need(t, "git")
	repo := t.TempDir()
	git := func(args ...string) {
		if out, err := exec.Command("git", append([]string{"-C", repo}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("init", "-q")
	t.Setenv("HOME", t.TempDir()) // no global git identity
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	t.Setenv("DEBFULLNAME", "")
	t.Setenv("DEBEMAIL", "")
	if m, err := DefaultMaintainer(repo); err == nil {
		t.Fatalf("no identity anywhere gave %q", m)
	} else if !strings.Contains(err.Error(), `MAINTAINER="Name <mail>"`) {
		t.Fatalf("the error does not say what to set: %v", err)
	}
	git("config", "user.name", "Jane Doe")
	git("config", "user.email", "jane@corp.example.com")
	if m, err := DefaultMaintainer(repo); err != nil || m != "Jane Doe <jane@corp.example.com>" {
		t.Fatalf("from git: %q, %v", m, err)
	}
	t.Setenv("DEBFULLNAME", "Relay Team")
	t.Setenv("DEBEMAIL", "relay-team@ops.example.org")
	if m, err := DefaultMaintainer(repo); err != nil || m != "Relay Team <relay-team@ops.example.org>" {
		t.Fatalf("from DEBFULLNAME, DEBEMAIL: %q, %v", m, err)
	}
}

// A build between releases gets a changelog entry of its own version, in
// both formats; a release build ships the changelog as it is.
func TestChangelogNamesThePackageVersion(t *testing.T) {
	text := mustRead(debian.Files, "changelog")
	top := debHeadRe.FindStringSubmatch(strings.SplitN(string(text), "\n", 2)[0])[2]
	date := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	for _, version := range []string{"0.1.1~git20261203100000.abcdef0-1", top} {
		got, err := withBuildEntry(text, "tmate-relay", version, testMaintainer, date)
		if err != nil {
			t.Fatal(err)
		}
		entries, err := debChangelog(got)
		if err != nil {
			t.Fatalf("%s: %v\n%s", version, err, got)
		}
		if entries[0].Semver != version {
			t.Errorf("%s: the latest entry is %s", version, entries[0].Semver)
		}
		if version == top && string(got) != string(text) {
			t.Errorf("a release build changed the changelog")
		}
		if version != top && entries[0].Packager != testMaintainer {
			t.Errorf("the build's entry is signed by %q", entries[0].Packager)
		}
	}
}

// The rpm changelog names version-release: for a native Debian version
// (the client package's) the rpm's release is added.
func TestRPMChangelogVersion(t *testing.T) {
	for _, tc := range []struct {
		s    spec
		want string
	}{
		{spec{version: "0.1.1", prerelease: "git1.abc", release: "1"}, "0.1.1~git1.abc-1"},
		{spec{version: "1.20261203.100000.abc"}, "1.20261203.100000.abc-1"},
	} {
		tc.s.changelog = []byte("p (" + tc.s.debVersion() + ") stable; urgency=medium\n\n  * x\n\n -- " +
			testMaintainer + "  Thu, 03 Dec 2026 10:00:00 +0000\n")
		info, err := tc.s.info("rpm", t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		got, err := info.GetChangeLog()
		if err != nil {
			t.Fatal(err)
		}
		if got.Entries[0].Semver != tc.want {
			t.Errorf("%s: rpm changelog names %s, want %s", tc.s.debVersion(), got.Entries[0].Semver, tc.want)
		}
	}
}

// debian/copyright names every Go module linked into the relay, each with
// a license that has its text in the file.
func TestCopyrightCoversEveryModule(t *testing.T) {
	built(t)
	info, err := buildinfo.ReadFile(filepath.Join(workDir, "tmate-relay-amd64"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(mustRead(debian.Files, "copyright"))
	paragraphs := strings.Split(text, "\n\n")
	texts := map[string]bool{} // licenses with their text in a paragraph
	for _, p := range paragraphs {
		if m := regexp.MustCompile(`(?m)^License: (\S+)\n `).FindStringSubmatch(p); m != nil {
			texts[m[1]] = true
		}
	}
	licenseOf := map[string]string{} // Files pattern -> License
	for _, p := range paragraphs {
		files := regexp.MustCompile(`(?m)^Files: ((?:.+\n)(?: .+\n)*)`).FindStringSubmatch(p + "\n")
		lic := regexp.MustCompile(`(?m)^License: (.+)$`).FindStringSubmatch(p)
		if files == nil || lic == nil {
			continue
		}
		for _, f := range strings.Fields(files[1]) {
			licenseOf[f] = lic[1]
		}
	}
	if licenseOf["*"] != "Expat" {
		t.Errorf("Files: * has License %q, want Expat (MIT)", licenseOf["*"])
	}
	for _, dep := range info.Deps {
		if dep.Replace != nil {
			dep = dep.Replace
		}
		lic, ok := licenseOf["vendor/"+dep.Path+"/*"]
		if !ok {
			t.Errorf("debian/copyright does not name module %s (Files: vendor/%s/*)", dep.Path, dep.Path)
			continue
		}
		for _, name := range strings.Split(lic, " and ") {
			if !texts[name] {
				t.Errorf("module %s: license %s has no text in debian/copyright", dep.Path, name)
			}
		}
	}
}

// Package packaging describes the two packages of the product as data and
// builds them as .deb and .rpm files with nfpm used as a library:
//
//   - tmate-relay: the relay binary, its systemd units, its default
//     configuration (a conffile), man page, copyright and changelog;
//   - elephant-shed-tmate: the client configuration a relay writes for its
//     hosts from its own address and host keys (BuildClientPackages).
//
// nfpm is used rather than dpkg-deb and rpmbuild because it writes both
// formats from one description, in pure Go, on any build machine; and because
// the installed relay itself must be able to write the client package.
package packaging

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/goreleaser/nfpm/v2"
	_ "github.com/goreleaser/nfpm/v2/deb" // registers the "deb" packager
	"github.com/goreleaser/nfpm/v2/files"
	_ "github.com/goreleaser/nfpm/v2/rpm" // registers the "rpm" packager
)

// Vendor and license fields shared by both packages. License is the SPDX
// name the rpm carries; debian/copyright calls the same text Expat.
const (
	Vendor  = "tmate-relay"
	License = "MIT"
)

// Maintainer is who answers for the packages, "Name <mail>". It is set
// when the relay is built (make MAINTAINER="Name <mail>", which passes
// -X tmate-relay/packaging.Maintainer=...), so that the client packages an
// installed relay writes name the same person as its own package. Empty in
// a relay built without it: see clientMaintainer.
var Maintainer string

// Formats are the package formats built for every package.
var Formats = []string{"deb", "rpm"}

// file is one file of a package: where it goes, where its bytes come from
// (an embedded or generated file written to the staging directory), its
// mode and its nfpm type ("" for a plain file).
type file struct {
	dst  string
	data []byte
	mode os.FileMode
	typ  string
	only string // "deb" or "rpm": shipped in that format only
}

// spec is a package described as data: everything but the format.
type spec struct {
	name, arch, version, release, prerelease string
	section, summary, description            string
	maintainer, homepage                     string
	depends                                  map[string][]string // by format
	recommends                               []string
	files                                    []file
	scripts                                  map[string]nfpm.Scripts // by format
	mtime                                    time.Time
	// changelog is the Debian changelog text: shipped gzipped in the .deb
	// by the spec's files, converted to the rpm's %changelog here.
	changelog []byte
}

// info turns a spec into a fresh nfpm.Info for one format, writing the file
// contents under stage (nfpm reads sources from disk). Package mutates the
// Info it is given, so every build gets its own.
func (s spec) info(format, stage string) (*nfpm.Info, error) {
	var contents files.Contents
	for i, f := range s.files {
		if f.only != "" && f.only != format {
			continue
		}
		src := filepath.Join(stage, fmt.Sprintf("%s-%d-%s", format, i, filepath.Base(f.dst)))
		if err := os.WriteFile(src, f.data, 0o600); err != nil {
			return nil, err
		}
		typ := f.typ
		if typ == files.TypeConfigNoReplace && format == "deb" {
			typ = files.TypeConfig // dpkg keeps an edited conffile anyway
		}
		contents = append(contents, &files.Content{
			Source:      src,
			Destination: f.dst,
			Type:        typ,
			FileInfo:    &files.ContentFileInfo{Mode: f.mode, Owner: "root", Group: "root", MTime: s.mtime},
		})
	}
	info := &nfpm.Info{
		Name:          s.name,
		Arch:          s.arch,
		Platform:      "linux",
		Version:       s.version,
		VersionSchema: "none",
		Release:       s.release,
		Prerelease:    s.prerelease,
		Section:       s.section,
		Priority:      "optional",
		Maintainer:    s.maintainer,
		Vendor:        Vendor,
		Homepage:      s.homepage,
		License:       License,
		Description:   s.summary + "\n" + s.description,
		MTime:         s.mtime,
		Overridables: nfpm.Overridables{
			Depends:    s.depends[format],
			Recommends: s.recommends,
			Contents:   contents,
			Umask:      0o022,
			Scripts:    s.scripts[format],
			RPM: nfpm.RPM{
				Summary:     s.summary,
				Group:       "Applications/System",
				Compression: "gzip",
			},
			Deb: nfpm.Deb{Compression: "xz"},
		},
	}
	if format == "rpm" && s.changelog != nil {
		entries, err := debChangelog(s.changelog)
		if err != nil {
			return nil, err
		}
		// rpm's changelog names version-release, as its header has it
		// (rpmlint: incoherent-version-in-changelog): a Debian native
		// version has no revision, while the rpm's release is "1".
		for _, e := range entries {
			if e.Semver == s.debVersion() {
				e.Semver = s.rpmVersion()
			}
		}
		info.Changelog = filepath.Join(stage, "rpm-changelog.yml")
		if err := writeChglog(entries, info.Changelog); err != nil {
			return nil, err
		}
	}
	return nfpm.WithDefaults(info), nil
}

// upstreamVersion is the version without release: 0.1.1~git2026....
func (s spec) upstreamVersion() string {
	if s.prerelease != "" {
		return s.version + "~" + s.prerelease
	}
	return s.version
}

// debVersion is the version dpkg shows: the upstream version, then the
// release as the Debian revision if there is one.
func (s spec) debVersion() string {
	if s.release != "" {
		return s.upstreamVersion() + "-" + s.release
	}
	return s.upstreamVersion()
}

// rpmVersion is the rpm's version-release (nfpm's release defaults to 1).
func (s spec) rpmVersion() string {
	release := s.release
	if release == "" {
		release = "1"
	}
	return s.upstreamVersion() + "-" + release
}

// build writes the package in every format into outDir and returns the paths.
func (s spec) build(outDir string) ([]string, error) {
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, err
	}
	stage, err := os.MkdirTemp("", "tmate-relay-pkg-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(stage)
	var out []string
	for _, format := range Formats {
		info, err := s.info(format, stage)
		if err != nil {
			return nil, err
		}
		p, err := nfpm.Get(format)
		if err != nil {
			return nil, err
		}
		path := filepath.Join(outDir, p.ConventionalFileName(info))
		if err := writePackage(p, info, path); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
		}
		out = append(out, path)
	}
	return out, nil
}

// writePackage writes through a temporary file so that a failed build never
// leaves a truncated package that a repository could pick up.
func writePackage(p nfpm.Packager, info *nfpm.Info, path string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".pkg-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := p.Package(info, tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// gz compresses like gzip -9n: no name, no timestamp (reproducible; lintian
// flags timestamped gzip files).
func gz(data []byte) []byte {
	var b bytes.Buffer
	w, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	w.Write(data)
	w.Close()
	return b.Bytes()
}

// mustRead reads an embedded file; the embed patterns guarantee it exists.
func mustRead(fsys fs.FS, name string) []byte {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		panic(err)
	}
	return b
}

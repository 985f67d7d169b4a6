// Command build cross-compiles the relay and writes the tmate-relay .deb and
// .rpm packages (make packages):
//
//	go run ./packaging/cmd/build [-out dist] [-version V] [-arch amd64,arm64]
//	    [-maintainer "Name <mail>"] [-homepage URL]
//
// The maintainer defaults to $MAINTAINER, else DEBFULLNAME and DEBEMAIL,
// else the git identity of the tree (see packaging.DefaultMaintainer).
package main

import (
	"cmp"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"tmate-relay/packaging"
)

func main() {
	out := flag.String("out", "dist", "directory for the packages")
	version := flag.String("version", "", "package version (default: "+packaging.BaseVersion+"~gitDATE.HASH of HEAD)")
	arches := flag.String("arch", strings.Join(packaging.RelayArches, ","), "Go architectures to build")
	root := flag.String("root", ".", "module root (holds etc/tmate-relay/relay.toml)")
	bins := flag.String("bin-dir", "", "take prebuilt DIR/tmate-relay-ARCH instead of building")
	maintainer := flag.String("maintainer", os.Getenv("MAINTAINER"), `who answers for the package, "Name <mail>" (default: $MAINTAINER, DEBFULLNAME <DEBEMAIL>, or git's user.name <user.email>)`)
	homepage := flag.String("homepage", cmp.Or(os.Getenv("HOMEPAGE"), packaging.DefaultHomepage), "the package's URL (rpm URL, deb Homepage; default: $HOMEPAGE, else "+packaging.DefaultHomepage+")")
	flag.Parse()
	if err := run(*root, *out, *version, *bins, *maintainer, *homepage, strings.Split(*arches, ",")); err != nil {
		fmt.Fprintln(os.Stderr, "build:", err)
		os.Exit(1)
	}
}

func run(root, out, version, bins, maintainer, homepage string, arches []string) error {
	if maintainer == "" {
		m, err := packaging.DefaultMaintainer(root)
		if err != nil {
			return err
		}
		maintainer = m
	}
	if err := packaging.CheckMaintainer(maintainer); err != nil {
		return err
	}
	if version == "" {
		v, err := packaging.GitVersion(root)
		if err != nil {
			return err
		}
		version = v
	}
	config, err := os.ReadFile(filepath.Join(root, "etc/tmate-relay/relay.toml"))
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "tmate-relay-bin-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	r := packaging.Relay{Version: version, Config: config, Binaries: map[string]string{}, MTime: time.Now().UTC().Truncate(time.Second),
		Maintainer: maintainer, Homepage: homepage}
	for _, arch := range arches {
		bin := filepath.Join(tmp, "tmate-relay-"+arch)
		if bins != "" {
			bin = filepath.Join(bins, "tmate-relay-"+arch)
		} else if err := packaging.BuildBinary(root, arch, version, maintainer, bin); err != nil {
			return err
		}
		r.Binaries[arch] = bin
	}
	paths, err := packaging.BuildRelayPackages(r, out)
	if err != nil {
		return err
	}
	for _, p := range paths {
		fmt.Println(p)
	}
	return nil
}

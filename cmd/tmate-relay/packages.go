package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"tmate-relay/packaging"
	"tmate-relay/service/config"
)

// runPackages writes the client configuration packages (elephant-shed-tmate
// .deb and .rpm) for this relay: its advertised address and host keys.
func runPackages(args []string) error {
	return packages(args, os.Stdout, os.Stderr)
}

func packages(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("packages", flag.ContinueOnError)
	fs.SetOutput(stderr)
	conf := fs.String("c", defaultConfig, "config `FILE`")
	out := fs.String("out", "", "write the packages into `DIR` (created if missing)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: tmate-relay packages [-c FILE] --out DIR\n\nWrite the "+packaging.ClientName+" .deb and .rpm for this relay: /etc/tmate.conf\nwith its address and host key fingerprints, and ~/.tmate.conf for users.\nThe version rises whenever the content changes; an unchanged one is reused.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *out == "" {
		fs.Usage()
		return errors.New("--out DIR is required")
	}
	cfg, err := config.Load(*conf)
	if err != nil {
		return err
	}
	paths, err := packaging.BuildClientPackages(cfg, *out)
	if err != nil {
		return err
	}
	for _, p := range paths {
		fmt.Fprintln(stdout, p)
	}
	return nil
}

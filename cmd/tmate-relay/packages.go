package main

import (
	"fmt"
	"io"
	"os"

	"tmate-relay/packaging"
)

// runPackages writes the client configuration packages (elephant-shed-tmate
// .deb and .rpm) for this relay: its advertised address and host keys.
func runPackages(args []string) error {
	return packages(args, os.Stdout, os.Stderr)
}

func packages(args []string, stdout, stderr io.Writer) error {
	cl := newCommandLine("packages", "usage: tmate-relay packages [-c FILE] --out DIR\n\nWrite the "+packaging.ClientName+" .deb and .rpm for this relay: /etc/tmate.conf\nwith its address and host key fingerprints, and ~/.tmate.conf for users.\nThe version rises whenever the content changes; an unchanged one is reused.",
		"write the packages into `DIR` (created if missing)", stderr)
	cfg, err := cl.load(args)
	if cfg == nil {
		return err
	}
	out := cl.out
	paths, err := packaging.BuildClientPackages(cfg, *out)
	if err != nil {
		return err
	}
	for _, p := range paths {
		fmt.Fprintln(stdout, p)
	}
	return nil
}

package main

import (
	"io"
	"os"

	"tmate-relay/service/clientconf"
)

// runClientConfig prints the tmate.conf a host needs to use this relay.
func runClientConfig(args []string) error {
	return clientConfig(args, os.Stdout, os.Stderr)
}

func clientConfig(args []string, stdout, stderr io.Writer) error {
	cl := newCommandLine("client-config", "usage: tmate-relay client-config [-c FILE]\n\nPrint the tmate.conf a host needs (server host, port, host key fingerprints);\nsave it and run `tmate -f FILE`, or source it from ~/.tmate.conf.", "", stderr)
	cfg, err := cl.load(args)
	if cfg == nil {
		return err
	}
	text, err := clientconf.FromConfig(cfg)
	if err != nil {
		return err
	}
	_, err = io.WriteString(stdout, text)
	return err
}

package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"tmate-relay/service/clientconf"
	"tmate-relay/service/config"
)

// runClientConfig prints the tmate.conf a host needs to use this relay.
func runClientConfig(args []string) error {
	return clientConfig(args, os.Stdout, os.Stderr)
}

func clientConfig(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("client-config", flag.ContinueOnError)
	fs.SetOutput(stderr)
	conf := fs.String("c", defaultConfig, "config `FILE`")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: tmate-relay client-config [-c FILE]\n\nPrint the tmate.conf a host needs (server host, port, host key fingerprints);\nsave it and run `tmate -f FILE`, or source it from ~/.tmate.conf.")
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
	cfg, err := config.Load(*conf)
	if err != nil {
		return err
	}
	text, err := clientconf.FromConfig(cfg)
	if err != nil {
		return err
	}
	_, err = io.WriteString(stdout, text)
	return err
}

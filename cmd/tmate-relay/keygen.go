package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"tmate-relay/service/config"
	"tmate-relay/service/hostkey"
)

// runKeygen creates the host keys missing from [ssh] host_keys_dir; it never
// overwrites a key.
func runKeygen(args []string) error {
	return keygen(args, os.Stdout, os.Stderr)
}

func keygen(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("keygen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	conf := fs.String("c", defaultConfig, "config `FILE`")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: tmate-relay keygen [-c FILE]\n\nCreate the missing host keys (ed25519, rsa) in [ssh] host_keys_dir; never overwrite one.")
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
	dir := cfg.SSH.HostKeysDir
	created, err := hostkey.Generate(dir)
	for _, p := range created {
		fmt.Fprintf(stdout, "created %s\n", p)
	}
	if err != nil {
		return err
	}
	if len(created) == 0 {
		fmt.Fprintf(stdout, "all host keys exist in %s\n", dir)
	}
	signers, err := hostkey.Load(dir)
	if err != nil {
		return err
	}
	fps := hostkey.Fingerprints(signers)
	for _, f := range hostkey.Files {
		fmt.Fprintf(stdout, "%s %s\n", fps[f.Type], f.Type)
	}
	return nil
}

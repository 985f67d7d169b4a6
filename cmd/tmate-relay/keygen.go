package main

import (
	"fmt"
	"io"
	"os"

	"tmate-relay/service/hostkey"
)

// runKeygen creates the host keys missing from [ssh] host_keys_dir; it never
// overwrites a key.
func runKeygen(args []string) error {
	return keygen(args, os.Stdout, os.Stderr)
}

func keygen(args []string, stdout, stderr io.Writer) error {
	cl := newCommandLine("keygen", "usage: tmate-relay keygen [-c FILE]\n\nCreate the missing host keys (ed25519, rsa) in [ssh] host_keys_dir; never overwrite one.", "", stderr)
	cfg, err := cl.load(args)
	if cfg == nil {
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

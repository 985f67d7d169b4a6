package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"tmate-relay/packaging"
	"tmate-relay/service/config"
)

// runRepo writes the relay's signed apt and yum repositories, the same tree
// the relay serves under /apt/ and /yum/, for any static web server.
func runRepo(args []string) error {
	return repo(args, os.Stdout, os.Stderr)
}

func repo(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("repo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	conf := fs.String("c", defaultConfig, "config `FILE`")
	out := fs.String("out", "", "write the repositories into `DIR` (replaced as a whole)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: tmate-relay repo [-c FILE] --out DIR\n\n"+
			"Write signed apt (DIR/apt) and yum (DIR/yum) repositories holding "+packaging.ClientName+"\n"+
			"for this relay and the packages in [repo] packages_dir, and the signing key\n"+
			"(DIR/"+packaging.RepoKeyName+".asc, .gpg). The key is created on first use in the state\n"+
			"directory (beside host_keys_dir) and never replaced. DIR is swapped in whole.\n"+
			"apt refuses the Release after [repo] valid_for: run this again before then.")
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
	res, err := packaging.BuildRepository(cfg, *out)
	if err != nil {
		return err
	}
	if res.KeyCreated {
		fmt.Fprintf(stderr, "created the signing key %s\n", packaging.SigningKeyPath(cfg))
	}
	fmt.Fprintf(stdout, "%s: signed by %s, valid until %s\n", res.Dir, res.Fingerprint, res.ValidUntil.Format(time.RFC3339))
	for _, p := range res.Packages {
		fmt.Fprintln(stdout, p)
	}
	return nil
}

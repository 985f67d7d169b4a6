package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"tmate-relay/packaging"
	"tmate-relay/service/config"
	"tmate-relay/service/metrics"
)

// runRepo writes the relay's signed apt and yum repositories, the same tree
// the relay serves under /apt/ and /yum/, for any static web server.
func runRepo(args []string) error {
	return repo(args, os.Stdout, os.Stderr)
}

func repo(args []string, stdout, stderr io.Writer) error {
	cl := newCommandLine("repo", "usage: tmate-relay repo [-c FILE] --out DIR\n\n"+
		"Write signed apt (DIR/apt) and yum (DIR/yum) repositories holding "+packaging.ClientName+"\n"+
		"for this relay and the packages in [repo] packages_dir, and the signing key\n"+
		"(DIR/"+packaging.RepoKeyName+".asc, .gpg). The key is created on first use in the state\n"+
		"directory (beside host_keys_dir) and never replaced. DIR is swapped in whole.\n"+
		"apt refuses the Release after [repo] valid_for: run this again before then.",
		"write the repositories into `DIR` (replaced as a whole)", stderr)
	cfg, err := cl.load(args)
	if cfg == nil {
		return err
	}
	out := cl.out
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

// repoCheckInterval is how often a serving relay looks whether its
// repository needs writing again.
var repoCheckInterval = time.Minute

// startRepo keeps the repository the relay serves (packaging.LiveRepoDir)
// current: written at start, from the configuration and host keys this
// relay runs with (so hosts are never told a fingerprint it does not
// present; a changed relay.toml or a rotated key takes effect, and is
// published, on restart), again when the files in [repo] packages_dir
// change, and signed again when a third of [repo] valid_for is left. It
// returns a function that stops it.
func startRepo(cfg *config.Config, m *metrics.Metrics, log *slog.Logger) (stop func()) {
	done := make(chan struct{})
	go func() {
		var built time.Time
		var stamp string
		t := time.NewTicker(repoCheckInterval)
		defer t.Stop()
		for {
			s := packagesStamp(cfg.Repo.PackagesDir)
			if built.IsZero() || s != stamp || time.Since(built) > cfg.Repo.ValidFor*2/3 {
				start := time.Now()
				res, err := packaging.BuildRepository(cfg, packaging.LiveRepoDir(cfg))
				if err != nil {
					log.Error("package repository not written", "err", err)
				} else {
					if res.KeyCreated {
						log.Info("repository signing key created", "path", packaging.SigningKeyPath(cfg), "fingerprint", res.Fingerprint)
					}
					log.Info("package repository written", "dir", res.Dir, "packages", len(res.Packages),
						"valid_until", res.ValidUntil.Format(time.RFC3339), "took", time.Since(start).Round(time.Millisecond))
					built, stamp = start, s
					m.RepoValidUntil(res.ValidUntil)
				}
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	// Stopping does not wait for a build under way: the tree is swapped in
	// whole or not at all, and the next start writes it again.
	return func() { close(done) }
}

// packagesStamp names every package file in dir with its size and time, so
// that a change shows as a different string.
func packagesStamp(dir string) string {
	if dir == "" {
		return ""
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "error: " + err.Error()
	}
	var b strings.Builder
	for _, e := range entries {
		if n := e.Name(); strings.HasSuffix(n, ".deb") || strings.HasSuffix(n, ".rpm") {
			if fi, err := e.Info(); err == nil {
				fmt.Fprintf(&b, "%s %d %d\n", n, fi.Size(), fi.ModTime().UnixNano())
			}
		}
	}
	return b.String()
}

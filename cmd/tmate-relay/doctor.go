package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"time"

	"tmate-relay/service/doctor"
)

// relayUser is the packaged relay's system user (systemd/tmate-relay.sysusers).
const relayUser = "tmate-relay"

// runDoctor checks the installed relay, one line per check, and fails when
// any check does.
func runDoctor(args []string) error {
	return doctorCommand(args, os.Stdout, os.Stderr, systemOptions)
}

// systemOptions are the real machine's: its systemd over D-Bus, the build
// time of this binary (its file's time, which the package sets).
func systemOptions(ctx context.Context, o *doctor.Options) (done func()) {
	if exe, err := os.Executable(); err == nil {
		if fi, err := os.Stat(exe); err == nil {
			o.BuildTime = fi.ModTime()
		}
	}
	if !doctor.Booted() {
		o.SystemdMissing = "this machine does not run systemd"
		return func() {}
	}
	sd, err := doctor.ConnectSystemd(ctx)
	if err != nil {
		o.SystemdMissing = fmt.Sprintf("systemd cannot be reached over D-Bus (%v)", err)
		return func() {}
	}
	o.Systemd = sd
	return sd.Close
}

func doctorCommand(args []string, stdout, stderr io.Writer, machine func(context.Context, *doctor.Options) func()) error {
	fs := flag.NewFlagSet("doctor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("c", defaultConfig, "config `FILE`")
	runAs := fs.String("user", "", "the `USER` the relay runs as (default "+relayUser+" when it exists, else yours)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: tmate-relay doctor [-c FILE] [--user USER]\n\n"+
			"Check the installed relay: the configuration, the listening ports and systemd\n"+
			"socket units, advertise_host, the host keys against /tmate.conf and the published\n"+
			"client package, the repository's signature, the state directory, the clock.\n"+
			"One line per check, ok, warn or fail, with what to do. Exits 1 when a check\n"+
			"fails. Run it as root: the keys are readable only by root and the relay.")
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
	opts := doctor.Options{ConfigPath: *configPath, User: *runAs}
	if opts.User == "" {
		if _, err := user.Lookup(relayUser); err == nil {
			opts.User = relayUser
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	defer machine(ctx, &opts)()
	results := doctor.Run(ctx, opts, stdout)
	// A check may have several lines (systemd: one per unit).
	checks, failed := map[string]bool{}, map[string]bool{}
	for _, r := range results {
		checks[r.Check] = true
		if r.Status == doctor.Fail {
			failed[r.Check] = true
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d checks failed", len(failed), len(checks))
	}
	return nil
}

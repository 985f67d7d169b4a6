// Command tmate-relay is a self-hosted relay for tmate: hosts share
// terminals through it, guests join with ssh or a browser.
package main

import (
	"fmt"
	"os"
	"sort"
)

// command is one subcommand: its one-line help and what it runs.
type command struct {
	summary string
	run     func(args []string) error
}

// commands lists every subcommand; each lives in its own file.
var commands = map[string]command{
	"serve":         {"run the relay (default config " + defaultConfig + ")", runServe},
	"keygen":        {"create missing host keys; never overwrite", runKeygen},
	"client-config": {"print the tmate.conf a host needs to use this relay", runClientConfig},
	"packages":      {"write the client configuration packages for this relay", runPackages},
	"repo":          {"write the signed apt and yum repositories the relay serves", runRepo},
	"version":       {"print the version", runVersion},
	"sessions":      {"list the running relay's sessions (admin socket)", runSessions},
	"guests":        {"list who is attached to a session (admin socket)", runGuests},
	"kick":          {"end a session, or remove one guest (admin socket)", runKick},
	"say":           {"show a message to a session's host and guests (admin socket)", runSay},
	"drain":         {"move every session to other nodes of the cluster (admin socket)", runDrain},
	"recordings":    {"list the session recordings ([recording] dir)", runRecordings},
	"play":          {"play a session recording in this terminal", runPlay},
	"doctor":        {"check the installed relay: ports, units, keys, repository, clock", runDoctor},
	"hash-password": {"print a password hash for [admin] users of the admin pages", runHashPassword},
}

const defaultConfig = "/etc/tmate-relay/relay.toml"

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "help" {
		usage()
		if len(os.Args) < 2 {
			os.Exit(2)
		}
		return
	}
	cmd, ok := commands[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "tmate-relay: unknown command %q\n", os.Args[1])
		usage()
		os.Exit(2)
	}
	if err := cmd.run(os.Args[2:]); err != nil {
		fmt.Fprintf(os.Stderr, "tmate-relay %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: tmate-relay COMMAND [-c FILE] [flags]")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(os.Stderr, "  %-14s %s\n", n, commands[n].summary)
	}
}

func runVersion(args []string) error {
	fmt.Println("tmate-relay", version)
	return nil
}

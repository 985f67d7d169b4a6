package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"tmate-relay/service/admin"
	"tmate-relay/service/config"
	"tmate-relay/service/session"
)

// adminLine is the flags of the commands that talk to the running relay
// over its admin socket: -c FILE names the relay.toml whose [admin] socket
// to use, --socket PATH the socket itself.
type adminLine struct {
	fs     *flag.FlagSet
	config *string
	socket *string
}

func newAdminLine(name, usage string, stderr io.Writer) *adminLine {
	a := &adminLine{fs: flag.NewFlagSet(name, flag.ContinueOnError)}
	a.fs.SetOutput(stderr)
	a.config = a.fs.String("c", defaultConfig, "config `FILE` whose [admin] socket to use")
	a.socket = a.fs.String("socket", "", "the admin socket's `PATH` (default: [admin] socket, else "+admin.DefaultSocket+")")
	a.fs.Usage = func() {
		fmt.Fprintln(stderr, usage)
		a.fs.PrintDefaults()
	}
	return a
}

// parse reads args, flags anywhere among them, and returns the positional
// arguments; want is how many there must be.
func (a *adminLine) parse(args []string, want int) ([]string, error) {
	var pos []string
	for {
		if err := a.fs.Parse(args); err != nil {
			return nil, err
		}
		args = a.fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	if len(pos) != want {
		a.fs.Usage()
		return nil, fmt.Errorf("want %d argument(s), got %d", want, len(pos))
	}
	return pos, nil
}

// path is the socket to talk to: --socket, else the configuration's
// [admin] socket, else the packaged relay's. A configuration that cannot
// be read (a member of tmate-relay-admin may not read relay.toml) counts
// as none unless -c named it.
func (a *adminLine) path() (string, error) {
	if *a.socket != "" {
		return *a.socket, nil
	}
	cfg, err := config.Load(*a.config)
	if err != nil {
		if a.given("c") {
			return "", err
		}
		return admin.DefaultSocket, nil
	}
	if cfg.Admin.Socket != "" {
		return cfg.Admin.Socket, nil
	}
	return admin.DefaultSocket, nil
}

func (a *adminLine) given(name string) bool {
	set := false
	a.fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func (a *adminLine) do(req admin.Request) (admin.Response, error) {
	path, err := a.path()
	if err != nil {
		return admin.Response{}, err
	}
	return admin.Do(path, req)
}

// helpOnly turns the flag package's "help asked" into success.
func helpOnly(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}

func runSessions(args []string) error {
	a := newAdminLine("sessions", "usage: tmate-relay sessions [-c FILE | --socket PATH] [--json]\n\nList the relay's live sessions.", os.Stderr)
	asJSON := a.fs.Bool("json", false, "print JSON")
	if _, err := a.parse(args, 0); err != nil {
		return helpOnly(err)
	}
	resp, err := a.do(admin.Request{Action: admin.ActionSessions})
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(os.Stdout, append([]session.Info{}, resp.Sessions...)) // [] for none
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tNAME\tHOST\tADDRESS\tCONNECTED\tSTARTED\tIDLE\tSSH RW/RO\tWEB RW/RO")
	for _, s := range resp.Sessions {
		g := s.Guests
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d/%d\t%d/%d\n", s.ID, s.Name, dash(s.HostName), dash(s.HostAddr),
			yesNo(s.HostConnected), s.Started.Local().Format(time.DateTime), time.Duration(s.IdleSeconds)*time.Second,
			g.SSHReadWrite, g.SSHReadOnly, g.WebReadWrite, g.WebReadOnly)
	}
	return w.Flush()
}

func runGuests(args []string) error {
	a := newAdminLine("guests", "usage: tmate-relay guests [-c FILE | --socket PATH] [--json] ID\n\nList who is attached to session ID.", os.Stderr)
	asJSON := a.fs.Bool("json", false, "print JSON")
	pos, err := a.parse(args, 1)
	if err != nil {
		return helpOnly(err)
	}
	resp, err := a.do(admin.Request{Action: admin.ActionGuests, Session: pos[0]})
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(os.Stdout, append([]session.GuestInfo{}, resp.Guests...))
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(w, "GUEST\tVIA\tACCESS\tADDRESS\tJOINED\tSIZE")
	for _, g := range resp.Guests {
		access := "rw"
		if g.ReadOnly {
			access = "ro"
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%dx%d\n", g.ID, g.Transport, access, g.Addr, g.Joined.Local().Format(time.DateTime), g.Cols, g.Rows)
	}
	return w.Flush()
}

func runKick(args []string) error {
	a := newAdminLine("kick", "usage: tmate-relay kick [-c FILE | --socket PATH] ID [--guest G]\n\nEnd session ID (its host and guests are told; the host does not get back into it),\nor with --guest remove only guest G (tmate-relay guests ID lists them).", os.Stderr)
	guestID := a.fs.String("guest", "", "remove only the guest `G`")
	pos, err := a.parse(args, 1)
	if err != nil {
		return helpOnly(err)
	}
	req := admin.Request{Action: admin.ActionKick, Session: pos[0]}
	if *guestID != "" {
		if req.Guest, err = strconv.Atoi(*guestID); err != nil || req.Guest <= 0 {
			return fmt.Errorf("--guest %q is not a guest number (tmate-relay guests %s lists them)", *guestID, pos[0])
		}
	}
	resp, err := a.do(req)
	if err != nil {
		return err
	}
	fmt.Println(resp.Done)
	return nil
}

func runSay(args []string) error {
	a := newAdminLine("say", "usage: tmate-relay say [-c FILE | --socket PATH] ID TEXT\n\nShow TEXT to session ID's host (a tmate message) and on its guests' status lines.", os.Stderr)
	pos, err := a.parse(args, 2)
	if err != nil {
		return helpOnly(err)
	}
	resp, err := a.do(admin.Request{Action: admin.ActionSay, Session: pos[0], Text: pos[1]})
	if err != nil {
		return err
	}
	fmt.Println(resp.Done)
	return nil
}

func runDrain(args []string) error {
	a := newAdminLine("drain", "usage: tmate-relay drain [-c FILE | --socket PATH] [--timeout D]\n\nMove every session off this node of a cluster while the relay keeps running: it leaves\nthe cluster, turns new hosts away, closes its hosts (tmate reconnects through the load\nbalancer to another node, with the same tokens) and tells its guests to join again.\nReturns once the node holds no session; then stop it (systemctl stop tmate-relay).", os.Stderr)
	timeout := a.fs.Duration("timeout", admin.DefaultDrainTimeout, "give up after `D`, naming what is left (exit status 1)")
	if _, err := a.parse(args, 0); err != nil {
		return helpOnly(err)
	}
	if *timeout < time.Second {
		return fmt.Errorf("--timeout %v: at least 1s", *timeout)
	}
	path, err := a.path()
	if err != nil {
		return err
	}
	secs := int((*timeout + time.Second - 1) / time.Second)
	resp, err := admin.DoStreaming(path, admin.Request{Action: admin.ActionDrain, TimeoutSeconds: secs}, time.Duration(secs)*time.Second+time.Minute, func(line string) {
		fmt.Println(line)
	})
	if err != nil {
		return err
	}
	fmt.Println(resp.Done)
	return nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func dash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

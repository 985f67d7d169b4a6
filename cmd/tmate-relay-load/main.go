// Command tmate-relay-load drives a running tmate-relay with synthetic
// tmate hosts and ssh and browser guests, and prints what it measured:
// see docs/capacity.md.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"tmate-relay/service/loadtest"
)

func main() {
	var cfg loadtest.Config
	flag.StringVar(&cfg.Addr, "addr", "127.0.0.1:10022", "the relay's SSH address, HOST:PORT")
	flag.StringVar(&cfg.Web, "web", "", "the relay's web URL (http://HOST:PORT), for browser guests")
	flag.IntVar(&cfg.Sessions, "sessions", 100, "sessions (synthetic tmate hosts)")
	flag.IntVar(&cfg.SSHGuests, "guests-per-session", 1, "ssh guests per session")
	flag.IntVar(&cfg.WebGuests, "web-guests-per-session", 0, "browser (WebSocket) guests per session")
	flag.StringVar(&cfg.Workload, "workload", loadtest.Steady, "idle, steady, flood, churn or restart")
	flag.DurationVar(&cfg.Duration, "duration", 30*time.Second, "how long the workload runs")
	flag.IntVar(&cfg.RelayPID, "relay-pid", 0, "the relay's PID, for its memory, CPU and descriptors (from /proc)")
	flag.StringVar(&cfg.RestartCmd, "restart-cmd", "", "restart workload: the shell command that starts the relay again")
	flag.Float64Var(&cfg.ChurnRate, "churn-rate", 10, "churn workload: guests joining and leaving per second")
	flag.Int64Var(&cfg.FloodBytes, "flood-bytes", 100e6, "flood workload: bytes session 0 writes")
	flag.BoolVar(&cfg.SpreadSources, "spread-sources", true, "connect each session from its own 127.x.y.z address (loopback relays)")
	asJSON := flag.Bool("json", false, "print the figures as one JSON object on the last line")
	flag.Parse()
	cfg.Log = os.Stderr

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := loadtest.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tmate-relay-load:", err)
		os.Exit(2)
	}
	res.WriteTable(os.Stdout)
	if *asJSON {
		b, _ := json.Marshal(res)
		fmt.Println(string(b))
	}
	if res.Errors > 0 {
		os.Exit(1)
	}
}

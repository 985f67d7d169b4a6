package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"tmate-relay/service/hostkey"
	"tmate-relay/service/internal/faultinject"
	"tmate-relay/service/session"
	"tmate-relay/service/sshd"
)

// emulatorFault panics once in the emulator of the in-process relay
// (startInProcessRelay) when a pane's output holds the armed marker; the
// relay binary the other tests run has no fault places.
var emulatorFault struct {
	sync.Mutex
	marker string
}

func init() {
	faultinject.Hook = func(place string, subject any) {
		if place != faultinject.Emulator {
			return
		}
		text, _ := subject.(string)
		emulatorFault.Lock()
		hit := emulatorFault.marker != "" && strings.Contains(text, emulatorFault.marker)
		if hit {
			emulatorFault.marker = ""
		}
		emulatorFault.Unlock()
		if hit {
			panic("injected fault in the emulator")
		}
	}
}

// startInProcessRelay serves SSH in this test's process, with the keys and
// tmate.conf of a prepared relay, so that a test can inject a fault.
func startInProcessRelay(t *testing.T) *relay {
	t.Helper()
	r := prepareRelay(t, "")
	keys, err := hostkey.Load(filepath.Join(r.dir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	reg := session.NewRegistry(0)
	reg.SetReconnector(session.NewReconnector([]byte("in-process relay"), time.Minute))
	srv, err := sshd.New(sshd.Config{
		HostKeys: keys,
		Registry: reg,
		Session:  session.Config{AdvertiseHost: "127.0.0.1", AdvertisePort: r.port},
		Log:      slog.New(slog.NewTextHandler(r.log, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", r.port))
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		if t.Failed() {
			t.Logf("relay log:\n%s", r.log)
		}
	})
	return r
}

// TestAPanicEndsOneTmateSessionOnly: a panic in the emulator of one real
// tmate session ends that session: its host is told and reconnects to the
// same session, its guest is told, and another session with its guest
// carries on.
func TestAPanicEndsOneTmateSessionOnly(t *testing.T) {
	needTools(t, "tmate", "tmux", "ssh", "ssh-keygen")
	r := startInProcessRelay(t)
	a, b := startAttachedHost(t, r, 80, 24, ""), startAttachedHost(t, r, 80, 24, "")
	aCmd, bCmd := a.display("#{tmate_ssh}"), b.display("#{tmate_ssh}")
	ga, gb := sshGuest(t, r, tokenOf(t, aCmd), 80, 25), sshGuest(t, r, tokenOf(t, bCmd), 80, 25)
	a.run("send-keys", "echo a-before", "Enter")
	b.run("send-keys", "echo b-before", "Enter")
	ga.waitFor("a-before", 10*time.Second)
	gb.waitFor("b-before", 10*time.Second)

	emulatorFault.Lock()
	emulatorFault.marker = "KABOOM"
	emulatorFault.Unlock()
	a.run("send-keys", "echo KABOOM", "Enter")

	eventually(t, 10*time.Second, "A's guest is told and let go", func() (bool, string) {
		s := ga.screen()
		return ga.exited() && strings.Contains(s, "An internal error in the relay ended this session"), s
	})
	a.waitMessage("an internal error ended this session", 10*time.Second)
	if n := strings.Count(r.log.String(), "a panic ended a session"); n != 1 {
		t.Fatalf("the panic was logged %d times, want once", n)
	}

	// B carries on both ways.
	b.run("send-keys", "echo b-after", "Enter")
	gb.waitFor("b-after", 10*time.Second)
	gb.send("echo typed-by-b-guest")
	gb.key("Enter")
	eventually(t, 10*time.Second, "B's guest's keys reach B", func() (bool, string) {
		s := b.capture()
		return strings.Contains(s, "typed-by-b-guest"), s
	})

	// A's host comes back to its session, which its guests join again.
	a.waitMessage("Reconnected", 30*time.Second)
	if got := a.display("#{tmate_ssh}"); got != aCmd {
		t.Fatalf("A came back as %q, was %q", got, aCmd)
	}
	ga = sshGuest(t, r, tokenOf(t, aCmd), 80, 25)
	a.run("send-keys", "echo a-after", "Enter")
	ga.waitFor("a-after", 10*time.Second)
}

package sshd

import (
	"strings"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"
	"golang.org/x/crypto/ssh"

	"tmate-relay/service/protocol"
	"tmate-relay/service/session"
)

// hostUntilReady starts a host's stream (HEADER, then more, then READY)
// and returns the environment the relay set and its NOTIFYs, up to the
// RESIZE that ends its announcement.
func hostUntilReady(t *testing.T, addr string, more ...protocol.HostMessage) (env map[string]string, notes []string, client *ssh.Client) {
	t.Helper()
	ch, c := hostChannel(t, addr)
	var b []byte
	b = protocol.AppendHostMessage(b, &protocol.Header{ProtocolVersion: 6, ClientVersion: "2.4.0"})
	for _, m := range more {
		b = protocol.AppendHostMessage(b, m)
	}
	b = protocol.AppendHostMessage(b, &protocol.Ready{})
	if _, err := ch.Write(b); err != nil {
		t.Fatal(err)
	}
	env = map[string]string{}
	dec := msgpack.NewDecoder(ch)
	for {
		var m []any
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("relay stream ended before RESIZE: %v (env %v, notes %q)", err, env, notes)
		}
		switch typ, _ := m[0].(int8); typ {
		case 0:
			notes = append(notes, m[1].(string))
		case 2:
			return env, notes, c
		case 4:
			env[m[1].(string)] = m[2].(string)
		}
	}
}

func TestReconnectionData(t *testing.T) {
	reg := session.NewRegistry(0)
	reg.SetReconnector(session.NewReconnector([]byte("relay key"), time.Minute))
	addr, _, log := startServer(t, Config{Registry: reg, Session: session.Config{AdvertiseHost: "relay.example", AdvertisePort: 22}})
	env, _, first := hostUntilReady(t, addr)
	data, sshCmd := env["tmate_reconnection_data"], env["tmate_ssh"]
	if data == "" || sshCmd == "" {
		t.Fatalf("the host was not given its reconnection data and command: %v", env)
	}
	first.Close() // the connection drops, without FIN

	for _, tc := range []struct {
		name       string
		data       string
		sameTokens bool
	}{
		{"valid", data, true},
		{"tampered", data[:len(data)-3] + "AAA", false},
		{"not ours", "1.e30.AAAA", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := strings.Count(log.String(), "host reconnection refused")
			env, notes, c := hostUntilReady(t, addr, &protocol.Reconnect{Data: tc.data})
			defer c.Close()
			if got := env["tmate_ssh"] == sshCmd; got != tc.sameTokens {
				t.Fatalf("tmate_ssh %q, old %q: same tokens %v, want %v", env["tmate_ssh"], sshCmd, got, tc.sameTokens)
			}
			if env["tmate_reconnection_data"] == "" {
				t.Fatal("no fresh reconnection data")
			}
			reconnected := strings.Contains(strings.Join(notes, "\n"), "Reconnected")
			refusals := strings.Count(log.String(), "host reconnection refused") - before
			if reconnected != tc.sameTokens || refusals != map[bool]int{true: 0, false: 1}[tc.sameTokens] {
				t.Fatalf("told Reconnected %v, refusals logged %d", reconnected, refusals)
			}
			if strings.Contains(log.String(), tokenOfCommand(sshCmd)) {
				t.Fatalf("the log holds the token:\n%s", log)
			}
		})
	}
}

func tokenOfCommand(cmd string) string {
	f := strings.Fields(cmd)
	return strings.Split(f[len(f)-1], "@")[0]
}

func TestReconnectionAtSessionLimit(t *testing.T) {
	// The host's own session holds the relay's only slot while it is away:
	// taking it back needs no other.
	reg := session.NewRegistry(1)
	reg.SetReconnector(session.NewReconnector([]byte("relay key"), time.Minute))
	addr, _, _ := startServer(t, Config{Registry: reg})
	env, _, first := hostUntilReady(t, addr)
	first.Close()
	again, notes, c := hostUntilReady(t, addr, &protocol.Reconnect{Data: env["tmate_reconnection_data"]})
	defer c.Close()
	if again["tmate_ssh"] != env["tmate_ssh"] || !strings.Contains(strings.Join(notes, "\n"), "Reconnected") {
		t.Fatalf("the host at the session limit did not get its session back: %v %q", again, notes)
	}
}

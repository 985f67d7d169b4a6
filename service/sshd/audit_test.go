package sshd

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"tmate-relay/service/audit"
	"tmate-relay/service/protocol"
	"tmate-relay/service/session"
)

// readEvents reads the audit file's JSON lines.
func readEvents(t *testing.T, path string) (events []map[string]any, raw string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		var e map[string]any
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("audit line %q: %v", sc.Text(), err)
		}
		events = append(events, e)
	}
	return events, string(b)
}

// joinAndLeave joins as a guest with token, reads until the relay has
// drawn something, and leaves.
func joinAndLeave(t *testing.T, addr, token string, key ssh.Signer) {
	t.Helper()
	cfg := &ssh.ClientConfig{User: token, HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second}
	if key != nil {
		cfg.Auth = []ssh.AuthMethod{ssh.PublicKeys(key)}
	}
	c, err := ssh.Dial("tcp", addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	out, _ := s.StdoutPipe()
	s.RequestPty("xterm", 24, 80, nil)
	if err := s.Shell(); err != nil {
		t.Fatal(err)
	}
	if _, err := out.Read(make([]byte, 1)); err != nil {
		t.Fatalf("guest read nothing: %v", err)
	}
}

// A session's life in the audit trail: its start with the host's address
// and key, each guest's join and leave with its address, key, transport,
// role, time and bytes, the host's reconnection under the same id, refusals
// by reason, and its end with duration and bytes; and no token anywhere.
func TestAuditTrail(t *testing.T) {
	file := filepath.Join(t.TempDir(), "audit.log")
	trail, err := audit.New(audit.Options{File: file})
	if err != nil {
		t.Fatal(err)
	}
	defer trail.Close()
	reg := session.NewRegistry(0)
	reg.SetReconnector(session.NewReconnector([]byte("relay key"), time.Minute))
	addr, _, _ := startServer(t, Config{Registry: reg, Audit: trail,
		Session: session.Config{AdvertiseHost: "relay.example", AdvertisePort: 22, Audit: trail}})

	layout := &protocol.SyncLayout{SX: 80, SY: 23, Windows: []protocol.Window{{Idx: 0, Name: "sh", ActivePaneID: 0,
		Panes: []protocol.PaneLayout{{ID: 0, SX: 80, SY: 23}}}}, ActiveWindowIdx: 0}
	// The session takes listed guest keys only: a guest's key is known
	// only when it must offer one (ssh tries none first).
	guestKey, otherKey := testSigner(t, "ed25519"), testSigner(t, "ed25519")
	env, _, first := hostUntilReady(t, addr,
		&protocol.ExecCmd{Argv: []string{"set-option", "-g", "tmate-authorized-keys", "/guests"}},
		&protocol.ExecCmd{Argv: []string{"set-option", "tmate-set", "authorized_keys=" + authorizedLine(guestKey)}},
		layout, &protocol.PtyData{PaneID: 0, Data: []byte("hello")})
	rw, ro := tokenOfCommand(env["tmate_ssh"]), tokenOfCommand(env["tmate_ssh_ro"])
	// A guest's leave is recorded when the relay sees its connection
	// close, which may be after the client has gone on: each step waits
	// for its events, so the order below is the order of the steps.
	recorded := func(n int) {
		waitFor(t, fmt.Sprintf("%d events in the trail", n), func() bool {
			trail.Flush()
			events, _ := readEvents(t, file)
			return len(events) >= n
		})
	}
	recorded(1)
	joinAndLeave(t, addr, rw, guestKey)
	recorded(3)
	joinAndLeave(t, addr, ro, guestKey)
	recorded(5)
	guestShell(t, addr, "nosuchtoken", nil)
	recorded(6)
	guestShell(t, addr, rw, []ssh.Signer{otherKey})
	recorded(7)

	first.Close() // the connection drops: the host comes back
	waitFor(t, "the session waits for its host", func() bool { return reg.Stats().Waiting == 1 })
	_, _, again := hostUntilReady(t, addr, &protocol.Reconnect{Data: env["tmate_reconnection_data"]})
	defer again.Close()
	reg.Kick(reg.Sessions()[0])

	var events []map[string]any
	var raw string
	waitFor(t, "the session's end in the trail", func() bool {
		trail.Flush()
		events, raw = readEvents(t, file)
		return len(events) > 0 && events[len(events)-1]["event"] == "session_end"
	})
	for _, tok := range []string{rw, ro} {
		if strings.Contains(raw, tok) {
			t.Errorf("the audit trail holds the token %s:\n%s", tok, raw)
		}
	}
	var kinds []string
	for _, e := range events {
		kinds = append(kinds, e["event"].(string))
	}
	want := "session_start guest_join guest_leave guest_join guest_leave refusal refusal host_reconnect session_end"
	if strings.Join(kinds, " ") != want {
		t.Fatalf("events %q, want %q:\n%s", strings.Join(kinds, " "), want, raw)
	}
	id := events[0]["session_id"]
	for i, e := range events {
		if e["event"] != "refusal" && (e["session_id"] != id || e["host_addr"] != "127.0.0.1") {
			t.Errorf("event %d: session %v host %v, want %v from 127.0.0.1", i, e["session_id"], e["host_addr"], id)
		}
		if _, err := time.Parse(time.RFC3339Nano, e["time"].(string)); err != nil {
			t.Errorf("event %d: time: %v", i, err)
		}
	}
	for _, tc := range []struct {
		i      int
		fields map[string]any
	}{
		{1, map[string]any{"guest_addr": "127.0.0.1", "guest_key": fingerprint(guestKey), "transport": "ssh", "role": "rw", "guest": 1.0}},
		{2, map[string]any{"role": "rw", "guest_key": fingerprint(guestKey)}},
		{3, map[string]any{"role": "ro", "guest": 2.0, "guest_key": fingerprint(guestKey)}},
		{5, map[string]any{"reason": "bad_token", "guest_addr": "127.0.0.1", "transport": "ssh"}},
		{6, map[string]any{"reason": "guest_key", "guest_key": fingerprint(otherKey), "session_id": id}},
		{8, map[string]any{"why": session.KickedText}},
	} {
		for k, v := range tc.fields {
			if got := events[tc.i][k]; got != v {
				t.Errorf("%s event: %s = %v, want %v", kinds[tc.i], k, got, v)
			}
		}
	}
	for _, i := range []int{2, 4, 8} {
		d, ok1 := events[i]["duration_s"].(float64)
		b, ok2 := events[i]["bytes"].(float64)
		// A guest here may stay less than the millisecond durations count.
		if !ok1 || !ok2 || d < 0 || b <= 0 {
			t.Errorf("%s event: duration_s %v, bytes %v, want a duration and bytes above 0", kinds[i], events[i]["duration_s"], events[i]["bytes"])
		}
	}
	if _, ok := events[1]["duration_s"]; ok {
		t.Errorf("a join has a duration: %v", events[1])
	}
}

package e2e

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tmate-relay/service/session"
)

// auditEvents reads the JSON lines of an [audit] file.
func auditEvents(t *testing.T, path string) (events []map[string]any, raw string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err.Error()
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

// TestAuditFile: a real tmate host, a read-write and a read-only ssh guest
// that join and leave, a guest with a wrong token, and the administrator
// ending the session. The [audit] file holds, for the session's id, its
// start, each guest's join and leave with its address, transport and role
// (the leave with time and bytes), the refusal, the admin request and the
// end with duration and bytes; never a token.
func TestAuditFile(t *testing.T) {
	needTools(t, "tmate", "tmux", "ssh")
	r := startRelay(t, "[admin]\nsocket = \"admin.sock\"\n[audit]\nfile = \"audit.log\"\nformat = \"json\"\n")
	file := filepath.Join(r.dir, "audit.log")
	h := startHost(t, r, 80, 24, "")
	token, roToken := tokenOf(t, h.display("#{tmate_ssh}")), tokenOf(t, h.display("#{tmate_ssh_ro}"))
	rw := sshGuest(t, r, token, 80, 25)
	rw.waitFor("$", 10*time.Second)
	ro := sshGuest(t, r, roToken, 80, 25)
	h.run("send-keys", "echo audit-me", "Enter")
	rw.waitFor("audit-me", 10*time.Second)
	ro.waitFor("audit-me", 10*time.Second)
	for _, g := range []*term{rw, ro} {
		g.key("C-b", "d")
		eventually(t, 10*time.Second, "the guest detached", func() (bool, string) { return g.exited(), g.screen() })
	}
	wrong := sshGuest(t, r, "nosuchtokenxxxxxxxxxxxxxx", 80, 25)
	eventually(t, 10*time.Second, "the wrong token refused", func() (bool, string) { return wrong.exited(), wrong.screen() })
	list := r.sessions(t)
	if len(list) != 1 {
		t.Fatalf("sessions: %+v", list)
	}
	id := list[0].ID
	if out, err := r.admin("kick", id); err != nil {
		t.Fatalf("kick: %v\n%s", err, out)
	}

	var mine []map[string]any
	var raw string
	eventually(t, 10*time.Second, "the session's end and the kick in the audit file", func() (bool, string) {
		var events []map[string]any
		events, raw = auditEvents(t, file)
		mine = nil
		ended, kicked := false, false
		for _, e := range events {
			if e["session_id"] == id || e["event"] == "refusal" {
				mine = append(mine, e)
				ended = ended || e["event"] == "session_end"
				kicked = kicked || e["event"] == "admin"
			}
		}
		return ended && kicked, raw
	})
	for _, tok := range []string{token, roToken} {
		if strings.Contains(raw, tok) {
			t.Fatalf("the audit file holds a token:\n%s", raw)
		}
	}
	var kinds []string
	byKind := map[string][]map[string]any{}
	for _, e := range mine {
		k := e["event"].(string)
		kinds = append(kinds, k)
		byKind[k] = append(byKind[k], e)
	}
	want := "session_start guest_join guest_join guest_leave guest_leave refusal session_end admin" // the request is recorded once done
	if strings.Join(kinds, " ") != want {
		t.Fatalf("events %q, want %q:\n%s", strings.Join(kinds, " "), want, raw)
	}
	start := byKind["session_start"][0]
	if start["host_addr"] != "127.0.0.1" || start["session_name"] == "" || start["time"] == "" {
		t.Errorf("start: %v", start)
	}
	roles := map[any]bool{}
	for _, e := range append(byKind["guest_join"], byKind["guest_leave"]...) {
		roles[e["role"]] = true
		if e["guest_addr"] != "127.0.0.1" || e["transport"] != "ssh" || e["host_addr"] != "127.0.0.1" {
			t.Errorf("%s: %v", e["event"], e)
		}
	}
	if !roles["rw"] || !roles["ro"] || len(roles) != 2 {
		t.Errorf("roles %v, want rw and ro", roles)
	}
	for _, e := range append(byKind["guest_leave"], byKind["session_end"]...) {
		d, _ := e["duration_s"].(float64)
		b, _ := e["bytes"].(float64)
		if d <= 0 || b <= 0 {
			t.Errorf("%s: duration_s %v bytes %v, want both above 0", e["event"], e["duration_s"], e["bytes"])
		}
	}
	if e := byKind["session_end"][0]; e["why"] != session.KickedText {
		t.Errorf("end: why %v", e["why"])
	}
	if e := byKind["refusal"][0]; e["reason"] != "bad_token" || e["guest_addr"] != "127.0.0.1" {
		t.Errorf("refusal: %v", e)
	}
	if e := byKind["admin"][0]; e["action"] != "kick" || e["result"] != "ok" || e["caller_uid"] != float64(os.Getuid()) {
		t.Errorf("admin: %v", e)
	}
}

package packaging

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// checkAuditTrail, in a booted container whose relay hosts with
// /tmp/host.conf: a tmate host's session, a read-write and a read-only ssh
// guest that join and leave, and the administrator ending it are events in
// the journal, each with its own fields (journalctl -u tmate-relay
// TMATE_SESSION_ID=ID -o json); with [audit] file set and the relay
// restarted, the same events are JSON lines in /var/log/tmate-relay, and
// the package's logrotate rotates that file while the relay goes on
// writing to a new one.
func checkAuditTrail(c *container) {
	c.t.Helper()
	c.check("ssh and logrotate in the root", "command -v ssh && command -v logrotate")

	id, tokens := c.auditedSession("journal")
	if id == "" {
		return
	}
	var events []map[string]any
	ok := c.eventually(15*time.Second, func() bool {
		out, _ := c.sh(20*time.Second, "journalctl -u tmate-relay TMATE_SESSION_ID="+id+" -o json --no-pager")
		events = nil
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			var e map[string]any
			if json.Unmarshal([]byte(line), &e) == nil {
				events = append(events, e)
			}
		}
		return hasEvents(events, "TMATE_EVENT", "session_end", "admin")
	})
	if !ok {
		out, _ := c.sh(20*time.Second, "journalctl -u tmate-relay --no-pager | tail -40")
		c.t.Errorf("the journal has no session_end and admin kick for %s: %d events\n%s", id, len(events), out)
		return
	}
	c.checkAuditEvents("journal", events, "TMATE_", tokens)
	for _, e := range events {
		if e["_SYSTEMD_UNIT"] != "tmate-relay.service" || e["MESSAGE"] == "" || e["SYSLOG_IDENTIFIER"] != "tmate-relay" {
			c.t.Errorf("journal entry %v: want _SYSTEMD_UNIT tmate-relay.service, SYSLOG_IDENTIFIER tmate-relay and a MESSAGE", e)
		}
	}

	// The file: set in relay.toml, opened by the relay at its restart.
	c.must(`sed -i 's|^file = ""|file = "/var/log/tmate-relay/audit.log"|' /etc/tmate-relay/relay.toml && grep -qx 'file = "/var/log/tmate-relay/audit.log"' /etc/tmate-relay/relay.toml`)
	c.must("systemctl restart tmate-relay.service")
	id, tokens = c.auditedSession("file")
	if id == "" {
		return
	}
	var lines []map[string]any
	ok = c.eventually(15*time.Second, func() bool {
		lines = c.fileEvents("/var/log/tmate-relay/audit.log", id)
		return hasEvents(lines, "event", "session_end", "admin")
	})
	if !ok {
		out, _ := c.sh(10*time.Second, "ls -l /var/log/tmate-relay; cat /var/log/tmate-relay/audit.log; journalctl -u tmate-relay --no-pager | tail -20")
		c.t.Errorf("the audit file has no session_end and admin kick for %s:\n%s", id, out)
		return
	}
	c.checkAuditEvents("file", lines, "", tokens)
	c.check("audit file owned by the relay, not readable by others",
		`test "$(stat -c '%U %a' /var/log/tmate-relay/audit.log)" = "tmate-relay 600" && test "$(stat -c '%U %a' /var/log/tmate-relay)" = "tmate-relay 750"`)

	// Rotation: the relay writes the next event (an admin request) to the
	// new file.
	c.check("logrotate", "logrotate -f /etc/logrotate.d/tmate-relay && test -s /var/log/tmate-relay/audit.log.1")
	c.must("tmate-relay sessions")
	if !c.eventually(10*time.Second, func() bool {
		out, _ := c.sh(10*time.Second, "cat /var/log/tmate-relay/audit.log")
		return strings.Contains(out, `"event":"admin"`) && strings.Contains(out, `"action":"sessions"`)
	}) {
		out, _ := c.sh(10*time.Second, "ls -l /var/log/tmate-relay; tail -3 /var/log/tmate-relay/*; journalctl -u tmate-relay --no-pager | tail -20")
		c.t.Errorf("no event in the new audit file after logrotate:\n%s", out)
	}
}

// auditedSession hosts a tmate session as root, joins it with a read-write
// and a read-only ssh guest that each leave after a moment, ends it with
// tmate-relay kick and returns its id and tokens.
func (c *container) auditedSession(name string) (id string, tokens []string) {
	c.t.Helper()
	sock := "/tmp/tmate-audit-" + name + ".sock"
	out, err := c.sh(45*time.Second, "tmate -f /tmp/host.conf -S "+sock+" new-session -d -x 80 -y 24 && timeout 30 tmate -S "+sock+
		" wait tmate-ready && tmate -S "+sock+" display -p '#{tmate_ssh}' && tmate -S "+sock+" display -p '#{tmate_ssh_ro}'")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if err != nil || len(lines) != 2 {
		c.t.Errorf("audited tmate host (%s): %v\n%s", name, err, out)
		return "", nil
	}
	defer c.sh(10*time.Second, "tmate -S "+sock+" kill-server")
	for _, l := range lines {
		f := strings.Fields(l)
		tokens = append(tokens, strings.Split(f[len(f)-1], "@")[0])
	}
	for _, tok := range tokens {
		// Input for 2 s, then EOF: the guest leaves.
		c.check("ssh guest joins and leaves ("+name+")", "sleep 2 | timeout 20 ssh -tt -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -p 10022 "+
			tok+"@127.0.0.1 >/dev/null; test $? -ne 124")
	}
	var list []struct{ ID string }
	out = c.must("tmate-relay sessions --json")
	if json.Unmarshal([]byte(out), &list) != nil || len(list) != 1 {
		c.t.Errorf("sessions (%s): %s", name, out)
		return "", nil
	}
	c.must("tmate-relay kick " + list[0].ID)
	return list[0].ID, tokens
}

// checkAuditEvents checks one session's events from where (journal
// fields, each prefix+NAME in capitals; or file lines): its start, a join
// and a leave of a rw and a ro ssh guest, the admin's kick and the end,
// the leaves and the end with a duration and bytes; never a token.
func (c *container) checkAuditEvents(where string, events []map[string]any, prefix string, tokens []string) {
	c.t.Helper()
	f := func(e map[string]any, name string) string {
		if prefix != "" {
			name = prefix + strings.ToUpper(name)
		}
		switch v := e[name].(type) {
		case string:
			return v
		case float64:
			return fmt.Sprint(v)
		}
		return ""
	}
	var kinds []string
	roles := map[string]string{}
	for _, e := range events {
		k := f(e, "event")
		kinds = append(kinds, k)
		if k == "guest_join" || k == "guest_leave" {
			roles[k+" "+f(e, "role")] = f(e, "transport")
			if f(e, "guest_addr") != "127.0.0.1" {
				c.t.Errorf("%s: %s without the guest's address: %v", where, k, e)
			}
		}
		if k == "guest_leave" || k == "session_end" {
			if d, b := f(e, "duration_s"), f(e, "bytes"); d == "" || d == "0" || d == "0.000" || b == "" || b == "0" {
				c.t.Errorf("%s: %s has duration %q, bytes %q: %v", where, k, d, b, e)
			}
		}
		if k == "session_start" && (f(e, "host_addr") != "127.0.0.1" || f(e, "session_name") == "") {
			c.t.Errorf("%s: start without the host's address or the session's name: %v", where, e)
		}
		if k == "admin" && (f(e, "action") != "kick" || f(e, "caller_uid") != "0" || f(e, "result") != "ok") {
			c.t.Errorf("%s: admin event %v, want a kick by uid 0, ok", where, e)
		}
		b, _ := json.Marshal(e)
		for _, tok := range tokens {
			if strings.Contains(string(b), tok) {
				c.t.Errorf("%s: an event holds a token: %s", where, b)
			}
		}
	}
	if want := "session_start guest_join guest_leave guest_join guest_leave session_end admin"; strings.Join(kinds, " ") != want {
		c.t.Errorf("%s: events %q, want %q", where, strings.Join(kinds, " "), want)
	}
	for _, k := range []string{"guest_join rw", "guest_join ro", "guest_leave rw", "guest_leave ro"} {
		if roles[k] != "ssh" {
			c.t.Errorf("%s: no %s of an ssh guest (%v)", where, k, roles)
		}
	}
}

// hasEvents reports whether events (kinds in field) hold each of kinds.
func hasEvents(events []map[string]any, field string, kinds ...string) bool {
	seen := map[any]bool{}
	for _, e := range events {
		seen[e[field]] = true
	}
	for _, k := range kinds {
		if !seen[k] {
			return false
		}
	}
	return true
}

// fileEvents reads the audit file's JSON lines about session id.
func (c *container) fileEvents(path, id string) []map[string]any {
	out, _ := c.sh(10*time.Second, "cat "+path)
	var events []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var e map[string]any
		if json.Unmarshal([]byte(line), &e) == nil && e["session_id"] == id {
			events = append(events, e)
		}
	}
	return events
}

// eventually polls cond until it holds or within has passed.
func (c *container) eventually(within time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(within); ; time.Sleep(200 * time.Millisecond) {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

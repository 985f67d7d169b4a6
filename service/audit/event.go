// Package audit is the relay's audit trail: one structured event for each
// session start and end, host reconnection, guest join and leave, refusal,
// admin request and admin page request, sent to the systemd journal with fields of its own
// (or to stderr as text or JSON outside systemd) and optionally appended to
// a file as JSON lines.
//
// An event names a session by its id, which is no secret; it never holds a
// token, and the relay never puts one in any of its fields.
package audit

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Kind is what happened.
type Kind string

// The kinds of events.
const (
	SessionStart  Kind = "session_start"
	SessionEnd    Kind = "session_end"
	HostReconnect Kind = "host_reconnect"
	GuestJoin     Kind = "guest_join"
	GuestLeave    Kind = "guest_leave"
	Refusal       Kind = "refusal"
	Admin         Kind = "admin"
	// AdminPage is a request for an admin page on the web port (the
	// recordings): refused, or a recording served to a user.
	AdminPage Kind = "admin_page"
	// RecordingStopped: a session's recording stopped before the session
	// ended (Why: a full disk, max_bytes); the session went on.
	RecordingStopped Kind = "recording_stopped"
)

// Kinds lists every Kind.
var Kinds = []Kind{SessionStart, SessionEnd, HostReconnect, GuestJoin, GuestLeave, Refusal, Admin, AdminPage, RecordingStopped}

// Roles of guests.
const (
	ReadWrite = "rw"
	ReadOnly  = "ro"
)

// Role is a guest's role: ReadOnly or ReadWrite.
func Role(readOnly bool) string {
	if readOnly {
		return ReadOnly
	}
	return ReadWrite
}

// Event is one entry of the audit trail. Empty fields are left out of what
// is written; Duration and Bytes are written for the kinds that end
// something (SessionEnd, GuestLeave), zero or not.
type Event struct {
	Time time.Time
	Kind Kind

	SessionID   string // 16 hex digits, stable for the session's life; never a token
	SessionName string // tmux's session name (#S)
	HostAddr    string
	HostKey     string // SHA256 fingerprint of the host's SSH key, when it used one
	GuestAddr   string
	GuestKey    string // SHA256 fingerprint of the guest's SSH key, when it used one
	Addr        string // a refused peer's address, before it said whether it hosts or joins
	Guest       int    // the guest's number in its session
	Transport   string // ssh or web
	Role        string // rw or ro

	Reason string // a refusal's reason (the refusals metric's label)
	Why    string // what the peer was told: why a session or guest ended, or was refused

	Duration time.Duration // SessionEnd, GuestLeave: since the start or join
	Bytes    int64         // SessionEnd: from the host; GuestLeave: written to the guest

	// An admin request: the action, the caller (SO_PEERCRED), the result
	// (ok, failed, refused), the error, a message's text.
	Action                          string
	CallerUID, CallerGID, CallerPID int
	Result                          string
	Error                           string
	Text                            string

	// An admin page request: who asked (the user name it gave, refused
	// or not; Addr is where from) and the recording it was about.
	User      string
	Recording string
}

// ends reports whether e ends something: then it has a duration and bytes.
func (e *Event) ends() bool { return e.Kind == SessionEnd || e.Kind == GuestLeave }

// Field is one named value of an event. Name is the JSON key; the journal
// field is TMATE_ and Name in capitals. Number: the value is a number
// (JSON writes it unquoted).
type Field struct {
	Name, Value string
	Number      bool
}

// JournalName is f's journal field name.
func (f Field) JournalName() string { return "TMATE_" + strings.ToUpper(f.Name) }

// Fields lists e's fields in a fixed order, leaving out empty ones; the
// time is not among them (each sink records it its own way).
func (e *Event) Fields() []Field {
	var fs []Field
	add := func(name, v string) {
		if v != "" {
			fs = append(fs, Field{Name: name, Value: v})
		}
	}
	num := func(name, v string) { fs = append(fs, Field{Name: name, Value: v, Number: true}) }
	add("event", string(e.Kind))
	add("session_id", e.SessionID)
	add("session_name", e.SessionName)
	add("host_addr", e.HostAddr)
	add("host_key", e.HostKey)
	add("guest_addr", e.GuestAddr)
	add("guest_key", e.GuestKey)
	add("addr", e.Addr)
	if e.Guest != 0 {
		num("guest", strconv.Itoa(e.Guest))
	}
	add("transport", e.Transport)
	add("role", e.Role)
	add("reason", e.Reason)
	add("why", e.Why)
	if e.ends() {
		num("duration_s", strconv.FormatFloat(e.Duration.Seconds(), 'f', 3, 64))
		num("bytes", strconv.FormatInt(e.Bytes, 10))
	}
	add("action", e.Action)
	add("user", e.User)
	add("recording", e.Recording)
	if e.Kind == Admin {
		num("caller_uid", strconv.Itoa(e.CallerUID))
		num("caller_gid", strconv.Itoa(e.CallerGID))
		num("caller_pid", strconv.Itoa(e.CallerPID))
	}
	add("result", e.Result)
	add("error", e.Error)
	add("text", e.Text)
	return fs
}

// Message is the event in a sentence, for people reading the log.
func (e *Event) Message() string {
	var b strings.Builder
	session := func() {
		if e.SessionID != "" {
			fmt.Fprintf(&b, " session %s", e.SessionID)
			if e.SessionName != "" {
				fmt.Fprintf(&b, " (%s)", e.SessionName)
			}
		}
	}
	guest := func() {
		if e.Guest != 0 {
			fmt.Fprintf(&b, " %d", e.Guest)
		}
		if e.GuestAddr != "" {
			fmt.Fprintf(&b, " from %s", e.GuestAddr)
		}
		if e.Transport != "" || e.Role != "" {
			fmt.Fprintf(&b, " (%s)", strings.TrimSpace(e.Transport+" "+e.Role))
		}
	}
	switch e.Kind {
	case SessionStart:
		b.WriteString("started")
		session()
		fmt.Fprintf(&b, " hosted from %s", e.HostAddr)
	case SessionEnd:
		b.WriteString("ended")
		session()
		fmt.Fprintf(&b, " after %s, %d bytes from the host", e.Duration.Round(time.Second), e.Bytes)
	case HostReconnect:
		b.WriteString("host reconnected to")
		session()
		fmt.Fprintf(&b, " from %s", e.HostAddr)
	case GuestJoin:
		b.WriteString("guest")
		guest()
		b.WriteString(" joined")
		session()
	case GuestLeave:
		b.WriteString("guest")
		guest()
		b.WriteString(" left")
		session()
		fmt.Fprintf(&b, " after %s, %d bytes to the guest", e.Duration.Round(time.Second), e.Bytes)
	case Refusal:
		fmt.Fprintf(&b, "refused (%s)", e.Reason)
		if e.GuestAddr != "" {
			fmt.Fprintf(&b, " guest from %s", e.GuestAddr)
		} else if e.HostAddr != "" {
			fmt.Fprintf(&b, " host from %s", e.HostAddr)
		} else if e.Addr != "" {
			fmt.Fprintf(&b, " connection from %s", e.Addr)
		}
		session()
	case Admin:
		fmt.Fprintf(&b, "admin %s", e.Action)
		session()
		if e.Guest != 0 {
			fmt.Fprintf(&b, " guest %d", e.Guest)
		}
		fmt.Fprintf(&b, " by uid %d: %s", e.CallerUID, e.Result)
	case AdminPage:
		fmt.Fprintf(&b, "admin page %s", e.Action)
		if e.Recording != "" {
			fmt.Fprintf(&b, " of recording %s", e.Recording)
		}
		if e.User != "" {
			fmt.Fprintf(&b, " by %q", e.User)
		}
		fmt.Fprintf(&b, " from %s: %s", e.Addr, e.Result)
	case RecordingStopped:
		b.WriteString("recording stopped of")
		session()
	default:
		b.WriteString(string(e.Kind))
		session()
	}
	if e.Why != "" {
		fmt.Fprintf(&b, ": %s", e.Why)
	}
	if e.Error != "" {
		fmt.Fprintf(&b, ": %s", e.Error)
	}
	return b.String()
}

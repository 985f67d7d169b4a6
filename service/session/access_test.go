package session

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"tmate-relay/service/protocol"
)

func TestValidSessionName(t *testing.T) {
	for _, tc := range []struct {
		name string
		want bool
	}{
		{"a", true},
		{"Z", true},
		{"7", true},
		{"team-alpha", true},
		{"a-b-c-1-2-3", true},
		{"MixedCase-42", true},
		{strings.Repeat("x", 50), true},
		{strings.Repeat("ab-", 16) + "ab", true}, // 50 with dashes
		{"", false},
		{strings.Repeat("x", 51), false},
		{"-lead", false},
		{"trail-", false},
		{"-", false},
		{"two--dashes", false},
		{"sp ace", false},
		{"under_score", false},
		{"dot.ted", false},
		{"slash/ed", false},
		{"tab\t", false},
		{"nul\x00", false},
		{"ünï", false},
		{"ro-ok", true},
	} {
		if got := ValidSessionName(tc.name); got != tc.want {
			t.Errorf("ValidSessionName(%q) = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// guestKey is a fresh public key and its authorized_keys line.
func guestKey(t *testing.T) (ssh.PublicKey, string) {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return k, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k)))
}

// hostSays replicates the host's set-option commands, as tmate sends them
// while it reads its configuration, then its READY; it returns what READY
// returned (a RefusedError when the relay refuses the session).
func hostSays(t *testing.T, s *Session, options ...[2]string) error {
	t.Helper()
	for _, o := range options {
		apply(t, s, &protocol.ExecCmd{Argv: []string{"set-option", "-g", o[0], o[1]}})
	}
	_, err := s.Apply(&protocol.Ready{})
	return err
}

// refusal is the message of a RefusedError, "" for no error.
func refusal(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	var r *RefusedError
	if !errors.As(err, &r) {
		t.Fatalf("error %v is not a RefusedError", err)
	}
	return r.Msg
}

func TestHostsNameTheirSessions(t *testing.T) {
	const (
		name   = "tmate-session-name"
		roName = "tmate-session-name-ro"
		apiKey = "tmate-api-key"
	)
	for _, tc := range []struct {
		name      string
		policy    Policy
		options   [][2]string
		wantMsg   string // "" when accepted
		wantRW    string // the read-write token when accepted ("" random)
		wantRO    string
		notInMsgs string // a value the refusal must not repeat
	}{
		{name: "no names", wantRW: "", wantRO: ""},
		{name: "both names", options: [][2]string{{name, "team-alpha"}, {roName, "team-alpha-view"}}, wantRW: "team-alpha", wantRO: "team-alpha-view"},
		{name: "a read-write name only", options: [][2]string{{name, "solo"}}, wantRW: "solo"},
		{name: "a read-only name only", options: [][2]string{{roName, "watch-me"}}, wantRO: "watch-me"},
		{name: "the last value set wins", options: [][2]string{{name, "first"}, {name, "second"}}, wantRW: "second"},
		{name: "invalid name", options: [][2]string{{name, "two--dashes"}},
			wantMsg: "Relay: tmate-session-name is not valid: use 1 to 50 letters, digits and single dashes.", notInMsgs: "two--dashes"},
		{name: "name too long", options: [][2]string{{name, strings.Repeat("n", 51)}},
			wantMsg: "Relay: tmate-session-name is not valid: use 1 to 50 letters, digits and single dashes.", notInMsgs: strings.Repeat("n", 51)},
		{name: "invalid read-only name", options: [][2]string{{name, "fine"}, {roName, "not fine"}},
			wantMsg: "Relay: tmate-session-name-ro is not valid: use 1 to 50 letters, digits and single dashes.", notInMsgs: "not fine"},
		{name: "read-only name equal to the name", options: [][2]string{{name, "same"}, {roName, "same"}},
			wantMsg: "Relay: tmate-session-name-ro must differ from tmate-session-name."},
		{name: "api keys: no key", policy: Policy{APIKeys: []string{"tmk-1", "tmk-2"}}, options: [][2]string{{name, "beta"}},
			wantMsg: "Relay: named sessions need an API key: set tmate-api-key to a key the relay's administrator gave you."},
		{name: "api keys: wrong key", policy: Policy{APIKeys: []string{"tmk-1", "tmk-2"}}, options: [][2]string{{name, "beta"}, {apiKey, "tmk-3"}},
			wantMsg: "Relay: tmate-api-key is not valid on this relay, so the session cannot be named.", notInMsgs: "tmk-"},
		{name: "api keys: a prefix of a key", policy: Policy{APIKeys: []string{"tmk-1"}}, options: [][2]string{{name, "beta"}, {apiKey, "tmk-"}},
			wantMsg: "Relay: tmate-api-key is not valid on this relay, so the session cannot be named.", notInMsgs: "tmk-"},
		{name: "api keys: listed key", policy: Policy{APIKeys: []string{"tmk-1", "tmk-2"}}, options: [][2]string{{name, "beta"}, {apiKey, "tmk-2"}}, wantRW: "beta"},
		{name: "api keys: a read-only name needs one too", policy: Policy{APIKeys: []string{"tmk-1"}}, options: [][2]string{{roName, "beta-view"}},
			wantMsg: "Relay: named sessions need an API key: set tmate-api-key to a key the relay's administrator gave you."},
		{name: "api keys: unnamed sessions need none", policy: Policy{APIKeys: []string{"tmk-1"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := NewRegistry(0)
			reg.SetPolicy(tc.policy)
			s := New(Config{}, &hostLog{})
			if err := reg.Add(s); err != nil {
				t.Fatal(err)
			}
			randomRW, randomRO := s.Token(), s.ReadOnlyToken()
			msg := refusal(t, hostSays(t, s, tc.options...))
			if msg != tc.wantMsg {
				t.Fatalf("refusal %q, want %q", msg, tc.wantMsg)
			}
			if tc.notInMsgs != "" && strings.Contains(msg, tc.notInMsgs) {
				t.Errorf("the refusal repeats %q", tc.notInMsgs)
			}
			if msg != "" {
				if s.Token() != randomRW || s.ReadOnlyToken() != randomRO {
					t.Errorf("a refused session's tokens changed")
				}
				return
			}
			wantRW, wantRO := orDefault(tc.wantRW, randomRW), orDefault(tc.wantRO, randomRO)
			if s.Token() != wantRW || s.ReadOnlyToken() != wantRO {
				t.Fatalf("tokens %q %q, want %q %q", s.Token(), s.ReadOnlyToken(), wantRW, wantRO)
			}
			for _, tok := range []struct {
				token    string
				readOnly bool
			}{{wantRW, false}, {wantRO, true}} {
				if got, ro, ok := reg.Lookup(tok.token); !ok || got != s || ro != tok.readOnly {
					t.Errorf("Lookup(%q) = %v read-only %v", tok.token, ok, ro)
				}
			}
			// A replaced random token no longer leads anywhere.
			for _, old := range []string{randomRW, randomRO} {
				if old != wantRW && old != wantRO {
					if _, _, ok := reg.Lookup(old); ok {
						t.Errorf("the replaced token %q still leads to the session", old)
					}
				}
			}
		})
	}
}

// orDefault is want, or def when want is empty.
func orDefault(want, def string) string {
	if want == "" {
		return def
	}
	return want
}

func TestANameInUseIsRefusedWithoutRepeatingIt(t *testing.T) {
	for _, tc := range []struct {
		name    string
		second  [][2]string
		wantMsg string
	}{
		{"the same name", [][2]string{{"tmate-session-name", "alpha"}},
			"Relay: the tmate-session-name is in use by another live session: choose another, or end that session first."},
		{"the other session's read-only name", [][2]string{{"tmate-session-name", "alpha-view"}},
			"Relay: the tmate-session-name is in use by another live session: choose another, or end that session first."},
		{"a read-only name in use", [][2]string{{"tmate-session-name", "beta"}, {"tmate-session-name-ro", "alpha"}},
			"Relay: the tmate-session-name-ro is in use by another live session: choose another, or end that session first."},
		{"no clash", [][2]string{{"tmate-session-name", "beta"}, {"tmate-session-name-ro", "beta-view"}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := NewRegistry(0)
			first := New(Config{}, &hostLog{})
			reg.Add(first)
			if err := hostSays(t, first, [2]string{"tmate-session-name", "alpha"}, [2]string{"tmate-session-name-ro", "alpha-view"}); err != nil {
				t.Fatal(err)
			}
			second := New(Config{}, &hostLog{})
			reg.Add(second)
			msg := refusal(t, hostSays(t, second, tc.second...))
			if msg != tc.wantMsg {
				t.Fatalf("refusal %q, want %q", msg, tc.wantMsg)
			}
			// Session names are tokens: a refusal (which the relay logs)
			// never repeats them.
			if strings.Contains(msg, "alpha") {
				t.Errorf("the refusal repeats a session name: %q", msg)
			}
			if got, _, _ := reg.Lookup("alpha"); got != first {
				t.Errorf("the first session lost its name")
			}

			// Once the first session ends its names are free again.
			reg.Remove(first)
			third := New(Config{}, &hostLog{})
			reg.Add(third)
			if err := hostSays(t, third, [2]string{"tmate-session-name", "alpha"}); err != nil {
				t.Fatalf("a freed name is refused: %v", err)
			}
		})
	}
}

func TestHostsRestrictTheirGuestsToKeys(t *testing.T) {
	alice, aliceLine := guestKey(t)
	bob, bobLine := guestKey(t)
	carol, _ := guestKey(t)
	keyLine := func(line string) [2]string { return [2]string{"tmate-set", "authorized_keys=" + line} }
	keysFile := [2]string{"tmate-authorized-keys", "/home/h/.ssh/guests"}
	for _, tc := range []struct {
		name       string
		policy     Policy
		options    [][2]string
		wantMsg    string // "" when accepted
		restricted bool
		allowed    []ssh.PublicKey
		refused    []ssh.PublicKey
	}{
		{name: "no keys: any guest with the token", allowed: []ssh.PublicKey{alice, bob}},
		{name: "one key", options: [][2]string{keysFile, keyLine(aliceLine)},
			restricted: true, allowed: []ssh.PublicKey{alice}, refused: []ssh.PublicKey{bob, carol}},
		{name: "two keys with comments", options: [][2]string{keysFile, keyLine(aliceLine + " alice@laptop"), keyLine(bobLine + " bob")},
			restricted: true, allowed: []ssh.PublicKey{alice, bob}, refused: []ssh.PublicKey{carol}},
		{name: "session options are ignored", options: [][2]string{keysFile, keyLine(`no-pty,command="true" ` + aliceLine)},
			restricted: true, allowed: []ssh.PublicKey{alice}, refused: []ssh.PublicKey{bob}},
		{name: "a bad line beside a good one is skipped", options: [][2]string{keysFile, keyLine("ssh-ed25519 AAAAnope"), keyLine(bobLine)},
			restricted: true, allowed: []ssh.PublicKey{bob}, refused: []ssh.PublicKey{alice}},
		{name: "a from= key is not honoured beside a good one", options: [][2]string{keysFile, keyLine(`from="10.0.0.1" ` + aliceLine), keyLine(bobLine)},
			restricted: true, allowed: []ssh.PublicKey{bob}, refused: []ssh.PublicKey{alice}},
		{name: "only bad lines", options: [][2]string{keysFile, keyLine("ssh-ed25519 AAAAnope")},
			wantMsg: `Relay: tmate-authorized-keys has no usable key ("ssh-ed25519 AAAAnope" is not an SSH public key without options); no guest could join.`},
		{name: "only a from= key", options: [][2]string{keysFile, keyLine(`from="10.0.0.1" ` + aliceLine)},
			wantMsg: fmt.Sprintf("Relay: tmate-authorized-keys has no usable key (%q is not an SSH public key without options); no guest could join.", `from="10.0.0.1" ssh-ed25519 AAAAC3NzaC1l...[`+fmt.Sprint(len(`from="10.0.0.1" `+aliceLine))+` bytes, cut]`)},
		{name: "a keys file that lists nothing", options: [][2]string{keysFile},
			wantMsg: "Relay: tmate-authorized-keys (/home/h/.ssh/guests) lists no SSH public key; no guest could join. Add the keys of those who may join."},
		{name: "other tmate-set values are not keys", options: [][2]string{{"tmate-set", "foreground=true"}, {"tmate-set", "other=x"}},
			allowed: []ssh.PublicKey{alice}},
		{name: "required keys: none", policy: Policy{RequireGuestKeys: true},
			wantMsg: "Relay: this relay requires sessions restricted to known guests. Add `set tmate-authorized-keys \"~/.ssh/authorized_keys\"` (a file of the SSH public keys that may join) to ~/.tmate.conf and start tmate again."},
		{name: "required keys: listed", policy: Policy{RequireGuestKeys: true}, options: [][2]string{keysFile, keyLine(aliceLine)},
			restricted: true, allowed: []ssh.PublicKey{alice}, refused: []ssh.PublicKey{bob}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := NewRegistry(0)
			reg.SetPolicy(tc.policy)
			s := New(Config{}, &hostLog{})
			reg.Add(s)
			msg := refusal(t, hostSays(t, s, tc.options...))
			if msg != tc.wantMsg {
				t.Fatalf("refusal %q, want %q", msg, tc.wantMsg)
			}
			if msg != "" {
				return
			}
			if got := s.RestrictsGuests(); got != tc.restricted {
				t.Errorf("RestrictsGuests = %v, want %v", got, tc.restricted)
			}
			for _, k := range tc.allowed {
				if !s.AllowsGuestKey(k) {
					t.Errorf("key %s refused", ssh.FingerprintSHA256(k))
				}
			}
			for _, k := range tc.refused {
				if s.AllowsGuestKey(k) {
					t.Errorf("key %s allowed", ssh.FingerprintSHA256(k))
				}
			}
		})
	}
}

func TestCapsAndTheirMessages(t *testing.T) {
	t.Run("sessions", func(t *testing.T) {
		for _, max := range []int{1, 3} {
			reg := NewRegistry(max)
			var live []*Session
			for range max {
				s := New(Config{}, &hostLog{})
				if err := reg.Add(s); err != nil {
					t.Fatalf("session under the cap of %d: %v", max, err)
				}
				live = append(live, s)
			}
			err := reg.Add(New(Config{}, &hostLog{}))
			if !errors.Is(err, ErrTooManySessions) || err.Error() != "the relay has reached its session limit, try again later" {
				t.Fatalf("session over the cap of %d: %v", max, err)
			}
			reg.Remove(live[0])
			if err := reg.Add(New(Config{}, &hostLog{})); err != nil {
				t.Fatalf("a session after one ended: %v", err)
			}
		}
		reg := NewRegistry(0)
		for i := range 100 {
			if err := reg.Add(New(Config{}, &hostLog{})); err != nil {
				t.Fatalf("session %d with no cap: %v", i+1, err)
			}
		}
	})

	t.Run("guests per session", func(t *testing.T) {
		// Read-write and read-only guests have caps of their own.
		for _, tc := range []struct {
			readOnly    bool
			max, maxRO  int
			admitted    int // of 10 attempts
			wantRefusal string
		}{
			{false, 1, 0, 1, "this session has reached its guest limit"},
			{false, 2, 1, 2, "this session has reached its guest limit"},
			{false, 0, 1, 10, ""},
			{true, 0, 1, 1, "this session has reached its read-only guest limit"},
			{true, 1, 2, 2, "this session has reached its read-only guest limit"},
			{true, 1, 0, 10, ""},
		} {
			s, _ := newTestSession(t, Config{MaxGuests: tc.max, MaxReadOnlyGuests: tc.maxRO})
			var guests []*Guest
			for i := range 10 {
				g, err := s.Attach(tc.readOnly, fmt.Sprintf("192.0.2.%d", i), 80, 24)
				if i < tc.admitted {
					if err != nil {
						t.Fatalf("%+v: guest %d refused: %v", tc, i+1, err)
					}
					guests = append(guests, g)
					continue
				}
				if err == nil || err.Error() != tc.wantRefusal {
					t.Fatalf("%+v: guest %d: %v, want %q", tc, i+1, err, tc.wantRefusal)
				}
			}
			s.Detach(guests[0])
			if _, err := s.Attach(tc.readOnly, "192.0.2.99", 80, 24); err != nil {
				t.Fatalf("%+v: a guest after one left: %v", tc, err)
			}
		}
	})

	t.Run("read-only guests cannot lock out read-write guests", func(t *testing.T) {
		s, _ := newTestSession(t, Config{MaxGuests: 2})
		for i := range 50 {
			s.Attach(true, fmt.Sprintf("198.51.100.%d", i), 80, 24) // refused or not
		}
		for i := range 2 {
			if _, err := s.Attach(false, fmt.Sprintf("192.0.2.%d", i), 80, 24); err != nil {
				t.Fatalf("read-write guest %d after 50 read-only ones: %v", i+1, err)
			}
		}
		if _, err := s.Attach(false, "192.0.2.9", 80, 24); !errors.Is(err, ErrTooManyGuests) {
			t.Fatalf("a third read-write guest: %v, want the guest limit", err)
		}
	})

	t.Run("panes per session", func(t *testing.T) {
		panes := func(n int) protocol.Window {
			w := protocol.Window{Idx: 0, ActivePaneID: 1}
			for i := range n {
				w.Panes = append(w.Panes, protocol.PaneLayout{ID: i + 1, XOff: 0, YOff: i, SX: 10, SY: 1})
			}
			return w
		}
		for _, tc := range []struct {
			max, panes int
			wantErr    string
		}{
			{2, 2, ""},
			{2, 3, "layout has 3 panes, the limit is 2"},
			{1, 1, ""},
			{1, 2, "layout has 2 panes, the limit is 1"},
		} {
			s, _ := newTestSession(t, Config{MaxPanes: tc.max})
			_, err := s.Apply(layout(10, 10, 0, panes(tc.panes)))
			if got := fmt.Sprint(err); tc.wantErr == "" && err != nil || tc.wantErr != "" && got != tc.wantErr {
				t.Errorf("%d panes, cap %d: %v, want %q", tc.panes, tc.max, err, tc.wantErr)
			}
		}
		// Windows count together.
		s, _ := newTestSession(t, Config{MaxPanes: 2})
		w1 := panes(1)
		w2 := protocol.Window{Idx: 1, ActivePaneID: 2, Panes: []protocol.PaneLayout{{ID: 2, SX: 10, SY: 10}, {ID: 3, SX: 10, SY: 10}}}
		if _, err := s.Apply(layout(10, 10, 0, w1, w2)); err == nil || err.Error() != "layout has 3 panes, the limit is 2" {
			t.Errorf("3 panes in 2 windows, cap 2: %v", err)
		}
	})
}

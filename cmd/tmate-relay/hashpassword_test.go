package main

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	"tmate-relay/service/config"
	"tmate-relay/service/password"
)

// fileWith is a file to read s from, as a pipe would give it.
func fileWith(t *testing.T, s string) *os.File {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	go func() { io.WriteString(w, s); w.Close() }()
	t.Cleanup(func() { r.Close() })
	return r
}

// From a pipe, the first line is the password; with a name, the output is
// a line relay.toml's [admin.users] takes as it is.
func TestHashPasswordFromPipe(t *testing.T) {
	for _, tc := range []struct{ name, args, input, key string }{
		{"hash only", "", "s3cret pass\nignored\n", ""},
		{"bare name", "alice", "s3cret pass\r\n", "alice"},
		{"quoted name", "bob smith@example.com", "s3cret pass", `"bob smith@example.com"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errs bytes.Buffer
			var args []string
			if tc.args != "" {
				args = []string{tc.args}
			}
			if err := hashPassword(args, fileWith(t, tc.input), &out, &errs); err != nil {
				t.Fatal(err)
			}
			line := strings.TrimSuffix(out.String(), "\n")
			hash := line
			if tc.key != "" {
				c, err := config.Parse("relay.toml", "[admin.users]\n"+line+"\n")
				if err != nil {
					t.Fatalf("relay.toml refuses %q: %v", line, err)
				}
				hash = c.Admin.Users[tc.args]
			}
			if !password.Verify(hash, []byte("s3cret pass")) {
				t.Errorf("%q does not verify the password", line)
			}
			if errs.Len() != 0 {
				t.Errorf("stderr %q: a pipe gets no prompt", errs.String())
			}
		})
	}
}

func TestHashPasswordRefuses(t *testing.T) {
	for _, tc := range []struct{ name, input, want string }{
		{"nothing", "", "no password"},
		{"empty line", "\n", "empty"},
		{"too long", strings.Repeat("x", 73) + "\n", "at most 72"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := hashPassword(nil, fileWith(t, tc.input), &out, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) || out.Len() != 0 {
				t.Errorf("error %v, output %q; want an error with %q", err, out.String(), tc.want)
			}
		})
	}
}

// On a terminal the password is asked for twice and never echoed, and the
// terminal echoes again afterwards.
func TestHashPasswordOnTerminalWithoutEcho(t *testing.T) {
	for _, tc := range []struct {
		name, first, second string
		ok                  bool
	}{
		{"same twice", "tty-s3cret", "tty-s3cret", true},
		{"typo", "tty-s3cret", "tty-s3cre7", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ptm, tty, err := pty.Open()
			if err != nil {
				t.Fatal(err)
			}
			defer ptm.Close()
			defer tty.Close()
			var out bytes.Buffer
			done := make(chan error, 1)
			go func() { done <- hashPassword(nil, tty, &out, tty) }()

			screen := bufio.NewReader(ptm)
			var seen strings.Builder
			waitFor := func(prompt string) {
				t.Helper()
				for !strings.HasSuffix(seen.String(), prompt) {
					b, err := screen.ReadByte()
					if err != nil {
						t.Fatalf("terminal shows %q, then %v", seen.String(), err)
					}
					seen.WriteByte(b)
				}
			}
			waitFor("Password: ")
			io.WriteString(ptm, tc.first+"\n")
			waitFor("Again: ")
			io.WriteString(ptm, tc.second+"\n")
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("hash-password did not finish")
			}
			if tc.ok != (err == nil) {
				t.Fatalf("error %v", err)
			}
			if tc.ok && !password.Verify(strings.TrimSpace(out.String()), []byte(tc.first)) {
				t.Errorf("output %q does not verify", out.String())
			}
			// What the terminal showed after the last prompt, then an
			// echo check: typed now, text must appear again.
			io.WriteString(ptm, "echo-is-back\n")
			waitFor("echo-is-back")
			if strings.Contains(seen.String(), "s3cre") {
				t.Errorf("the terminal echoed the password: %q", seen.String())
			}
		})
	}
}

package main

import (
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"tmate-relay/service/admin"
)

func TestAdminLineArguments(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		want  int
		pos   []string
		guest string
		fails bool
	}{
		{args: []string{"0123456789abcdef", "--guest", "3"}, want: 1, pos: []string{"0123456789abcdef"}, guest: "3"},
		{args: []string{"--guest", "3", "0123456789abcdef"}, want: 1, pos: []string{"0123456789abcdef"}, guest: "3"},
		{args: []string{"0123456789abcdef", "hello there"}, want: 2, pos: []string{"0123456789abcdef", "hello there"}},
		{args: []string{}, want: 1, fails: true},
		{args: []string{"a", "b"}, want: 1, fails: true},
		{args: []string{"a", "--bogus"}, want: 1, fails: true},
	} {
		a := newAdminLine("kick", "usage", io.Discard)
		guest := a.fs.String("guest", "", "")
		pos, err := a.parse(tc.args, tc.want)
		if (err != nil) != tc.fails {
			t.Errorf("%q: error %v, want failure %v", tc.args, err, tc.fails)
			continue
		}
		if !tc.fails && (!reflect.DeepEqual(pos, tc.pos) || *guest != tc.guest) {
			t.Errorf("%q: arguments %q, guest %q; want %q, %q", tc.args, pos, *guest, tc.pos, tc.guest)
		}
	}
}

func TestAdminSocketPath(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "relay.toml")
	if err := os.WriteFile(conf, []byte("[admin]\nsocket = \"admin.sock\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.toml")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--socket", "/x/a.sock"}, "/x/a.sock"},
		{[]string{"-c", conf}, filepath.Join(dir, "admin.sock")},
		{[]string{"-c", empty}, admin.DefaultSocket},
	} {
		a := newAdminLine("sessions", "usage", io.Discard)
		if _, err := a.parse(tc.args, 0); err != nil {
			t.Fatal(err)
		}
		got, err := a.path()
		if err != nil || got != tc.want {
			t.Errorf("%q: %q, %v; want %q", tc.args, got, err, tc.want)
		}
	}
	a := newAdminLine("sessions", "usage", io.Discard)
	a.parse([]string{"-c", filepath.Join(dir, "missing.toml")}, 0)
	if _, err := a.path(); err == nil {
		t.Error("a missing -c FILE is not an error")
	}
}

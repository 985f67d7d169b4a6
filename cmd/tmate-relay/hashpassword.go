package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"tmate-relay/service/password"
)

// runHashPassword prints a password hash for [admin] users, so that an
// administrator needs no other tool.
func runHashPassword(args []string) error {
	return hashPassword(args, os.Stdin, os.Stdout, os.Stderr)
}

const hashPasswordUsage = `usage: tmate-relay hash-password [NAME]

Print a bcrypt hash of a password for the admin pages' users. On a terminal
the password is asked for twice, without echo; otherwise it is the first
line of standard input. With NAME, print the line for [admin.users] in
relay.toml: NAME = "HASH".`

func hashPassword(args []string, stdin *os.File, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("hash-password", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, hashPasswordUsage) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 1 {
		fs.Usage()
		return fmt.Errorf("unexpected argument %q", fs.Arg(1))
	}
	name := fs.Arg(0)
	if name != "" && (strings.ContainsAny(name, ":") || strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f })) {
		return fmt.Errorf("user name %q must not hold a colon or control characters", name)
	}
	pw, err := readPassword(stdin, stderr)
	if err != nil {
		return err
	}
	hash, err := password.Hash(pw)
	if err != nil {
		return err
	}
	if name != "" {
		fmt.Fprintf(stdout, "%s = %q\n", tomlKey(name), hash)
		return nil
	}
	fmt.Fprintln(stdout, hash)
	return nil
}

// readPassword asks for the password twice on a terminal, with echo off,
// or reads the first line of a pipe or file.
func readPassword(in *os.File, prompt io.Writer) ([]byte, error) {
	r := bufio.NewReader(in)
	old, err := unix.IoctlGetTermios(int(in.Fd()), unix.TCGETS)
	if err != nil { // not a terminal
		return readLine(r)
	}
	quiet := *old
	quiet.Lflag &^= unix.ECHO
	quiet.Lflag |= unix.ICANON | unix.ECHONL
	if err := unix.IoctlSetTermios(int(in.Fd()), unix.TCSETS, &quiet); err != nil {
		return nil, fmt.Errorf("turning echo off: %w", err)
	}
	restore := func() { unix.IoctlSetTermios(int(in.Fd()), unix.TCSETS, old) }
	defer restore()
	// An interrupt must not leave the terminal without echo.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt)
	defer signal.Stop(sigs)
	go func() {
		if _, ok := <-sigs; ok {
			restore()
			os.Exit(130)
		}
	}()
	fmt.Fprint(prompt, "Password: ")
	pw, err := readLine(r)
	if err != nil {
		return nil, err
	}
	fmt.Fprint(prompt, "Again: ")
	again, err := readLine(r)
	if err != nil {
		return nil, err
	}
	if string(pw) != string(again) {
		return nil, errors.New("the passwords differ")
	}
	return pw, nil
}

func readLine(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadString('\n')
	if err != nil && (err != io.EOF || line == "") {
		if err == io.EOF {
			return nil, errors.New("no password on standard input")
		}
		return nil, err
	}
	return []byte(strings.TrimRight(line, "\r\n")), nil
}

var bareKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// tomlKey is name as a TOML key: bare when it can be, else quoted.
func tomlKey(name string) string {
	if bareKey.MatchString(name) {
		return name
	}
	return strconv.Quote(name)
}

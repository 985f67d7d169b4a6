package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"

	"tmate-relay/service/config"
)

// commandLine is one subcommand's flags: every command reads the relay's
// configuration from -c FILE; those that write files take --out DIR.
type commandLine struct {
	fs     *flag.FlagSet
	config *string
	out    *string // nil unless the command writes into a directory
}

// newCommandLine prepares the flags of command name; usage is its help text
// and outHelp, when not empty, the description of a required --out DIR.
func newCommandLine(name, usage, outHelp string, stderr io.Writer) *commandLine {
	c := &commandLine{fs: flag.NewFlagSet(name, flag.ContinueOnError)}
	c.fs.SetOutput(stderr)
	c.config = c.fs.String("c", defaultConfig, "config `FILE`")
	if outHelp != "" {
		c.out = c.fs.String("out", "", outHelp)
	}
	c.fs.Usage = func() {
		fmt.Fprintln(stderr, usage)
		c.fs.PrintDefaults()
	}
	return c
}

// load parses args and reads the configuration; it returns nil and no
// error when the user only asked for help.
func (c *commandLine) load(args []string) (*config.Config, error) {
	if err := c.fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, nil
		}
		return nil, err
	}
	if c.fs.NArg() > 0 {
		c.fs.Usage()
		return nil, fmt.Errorf("unexpected argument %q", c.fs.Arg(0))
	}
	if c.out != nil && *c.out == "" {
		c.fs.Usage()
		return nil, errors.New("--out DIR is required")
	}
	cfg, err := config.Load(*c.config)
	if errors.Is(err, fs.ErrNotExist) && !c.given("c") {
		return nil, fmt.Errorf("%w\nname a configuration with -c FILE, or run `make run` in the source tree for a development relay", err)
	}
	return cfg, err
}

// given reports whether the command line set flag name.
func (c *commandLine) given(name string) bool {
	set := false
	c.fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

package main

import (
	"io"
	"testing"
)

func TestPlayArguments(t *testing.T) {
	const id = "20261203-100000-0000000a"
	for _, tc := range []struct {
		args  []string
		speed float64
		fails bool
	}{
		{args: []string{id}, speed: 1},
		{args: []string{id, "--speed", "2.5"}, speed: 2.5},
		{args: []string{"--speed", "4", id}, speed: 4},
		{args: []string{"-c", "/x.toml", id}, speed: 1},
		{args: []string{}, fails: true},
		{args: []string{id, id}, fails: true},
		{args: []string{id, "--speed", "0"}, fails: true},
		{args: []string{id, "--speed", "fast"}, fails: true},
	} {
		c, got, speed, err := parsePlay(tc.args, io.Discard)
		if (err != nil) != tc.fails {
			t.Errorf("%q: error %v, want failure %v", tc.args, err, tc.fails)
			continue
		}
		if !tc.fails && (c == nil || got != id || speed != tc.speed) {
			t.Errorf("%q: id %q speed %v, want %q %v", tc.args, got, speed, id, tc.speed)
		}
	}
}

package sshd

import (
	"fmt"
	"math"
	"testing"
	"testing/synctest"
	"time"
)

func TestStartupsDropChance(t *testing.T) {
	def := Startups{Start: 10, Rate: 30, Full: 100}
	for _, tc := range []struct {
		s       Startups
		pending int
		want    float64
	}{
		{def, 0, 0},
		{def, 9, 0},
		{def, 10, 0.30},
		{def, 55, 0.65},
		{def, 99, 0.3 + 0.7*89/90},
		{def, 100, 1},
		{def, 150, 1},
		{Startups{Start: 5, Rate: 100, Full: 5}, 4, 0}, // a hard cap
		{Startups{Start: 5, Rate: 100, Full: 5}, 5, 1},
		{Startups{Start: 2, Rate: 50, Full: 4}, 3, 0.75},
	} {
		if got := tc.s.dropChance(tc.pending); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("%v with %d pending: %v, want %v", tc.s, tc.pending, got, tc.want)
		}
	}
}

// opening runs open in the background; its result arrives on the channel.
func opening(l *addrLimits, addr string, cancel <-chan struct{}) <-chan string {
	c := make(chan string, 1)
	go func() { c <- l.open(addr, cancel) }()
	return c
}

// result is what open returned, or "waiting" while it waits.
func result(c <-chan string) string {
	synctest.Wait()
	select {
	case r := <-c:
		if r == admitted {
			return "admitted"
		}
		return r
	default:
		return "waiting"
	}
}

// Beyond start a connection waits for a place, oldest first, before the
// early drop decides; waiting ones count towards full.
func TestConnectionsBeyondStartWaitForAPlace(t *testing.T) {
	const a = "192.0.2.1"
	for _, tc := range []struct {
		name   string
		random float64 // the early drop's draw at the end of the wait
		want   string  // for the third connection, once the wait is over
	}{
		{"dropped after the wait", 0.29, fullAddress},
		{"admitted by the draw after the wait", 0.99, "admitted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := newAddrLimits(10, time.Minute, Startups{Start: 1, Rate: 30, Full: 4}, 0, 10*time.Second)
				l.random = func() float64 { return tc.random }
				if !l.try(a) {
					t.Fatal("first connection refused")
				}
				waiting := make([]<-chan string, 3)
				for i := range waiting { // one after the other: they queue in this order
					waiting[i] = opening(l, a, nil)
					if r := result(waiting[i]); r != "waiting" {
						t.Fatalf("connection %d beyond start: %s, want it waiting", i+2, r)
					}
				}
				second, third, fourth := waiting[0], waiting[1], waiting[2]
				if r := l.open(a, nil); r != fullAddress {
					t.Fatalf("a fifth with three waiting (full 4): %q, want refused at once", r)
				}
				if r := l.open("192.0.2.2", nil); r != admitted {
					t.Fatalf("another address: %q, want admitted", r)
				}
				time.Sleep(5 * time.Second)
				l.done(a)
				if r := result(second); r != "admitted" {
					t.Fatalf("the oldest waiting, once a place is free: %s", r)
				}
				if r := result(third); r != "waiting" {
					t.Fatalf("the next: %s, want waiting", r)
				}
				time.Sleep(5 * time.Second)
				if r := result(third); r != tc.want {
					t.Fatalf("after its wait: %s, want %s", r, tc.want)
				}
				if r := result(fourth); r != tc.want {
					t.Fatalf("the last after its wait: %s, want %s", r, tc.want)
				}
			})
		})
	}
}

// A connection that waits gives up when the relay shuts down.
func TestWaitingConnectionsGiveUpOnShutdown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newAddrLimits(10, time.Minute, Startups{Start: 1, Rate: 30, Full: 10}, 0, time.Hour)
		l.random = func() float64 { return 0.99 }
		l.try("192.0.2.1")
		closed := make(chan struct{})
		waiting := opening(l, "192.0.2.1", closed)
		if r := result(waiting); r != "waiting" {
			t.Fatalf("%s, want waiting", r)
		}
		close(closed)
		if r := result(waiting); r != fullAddress {
			t.Fatalf("after shutdown: %s, want refused", r)
		}
		l.done("192.0.2.1")
		if len(l.addrs) != 0 || l.held != 0 {
			t.Fatalf("left behind: %d addresses, %d held", len(l.addrs), l.held)
		}
	})
}

// max_startups_total caps connections from all addresses, waiting ones
// included; a closed one frees its place.
func TestStartupsTotalCapsAllAddresses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newAddrLimits(10, time.Minute, Startups{Start: 2, Rate: 30, Full: 10}, 4, time.Hour)
		for i := range 3 {
			if r := l.open(fmt.Sprintf("192.0.2.%d", i+1), nil); r != admitted {
				t.Fatalf("address %d: %q", i+1, r)
			}
		}
		l.try("192.0.2.1")
		if r := l.open("192.0.2.9", nil); r != fullRelay {
			t.Fatalf("a fifth connection: %q, want %q", r, fullRelay)
		}
		l.done("192.0.2.2")
		waiting := opening(l, "192.0.2.1", nil) // its address holds 2: it waits
		if r := result(waiting); r != "waiting" {
			t.Fatalf("%s, want waiting", r)
		}
		if r := l.open("192.0.2.9", nil); r != fullRelay {
			t.Fatalf("with one waiting: %q, want %q", r, fullRelay)
		}
		l.done("192.0.2.1")
		if r := result(waiting); r != "admitted" {
			t.Fatalf("%s, want admitted", r)
		}
	})
}

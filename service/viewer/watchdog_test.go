package viewer

import (
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// A write drawn in the host's reader that blocks has its slow function
// called once, within HandOverWithin; one that returns at once never does.
// The watchdog's goroutine stops once no such write started for a while
// (synctest fails a test whose goroutines outlive it).
func TestWatchdogCallsSlowForABlockedWriteOnly(t *testing.T) {
	for _, tc := range []struct {
		name     string
		blockFor time.Duration
		wantSlow bool
	}{
		{"returns at once", 0, false},
		{"returns within a tick", watchdogTick / 2, false},
		{"blocks", time.Minute, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				term := &sleepTerm{fakeTerm: newFakeTerm(), d: tc.blockFor}
				wd := NewWatchdog()
				w := &writeGuard{term: term, timeout: time.Hour, watch: wd}
				wd.add(w)
				defer wd.remove(w)
				var (
					mu    sync.Mutex
					calls []time.Duration
				)
				for range 3 { // the guard and the watchdog are used again
					start := time.Now()
					slow := func() {
						mu.Lock()
						calls = append(calls, time.Since(start))
						mu.Unlock()
					}
					if err := w.write([]byte("x"), slow); err != nil {
						t.Fatal(err)
					}
					time.Sleep(3 * watchdogTick)
				}
				time.Sleep(watchdogIdle + watchdogTick) // the watchdog stops once idle
				mu.Lock()
				defer mu.Unlock()
				if !tc.wantSlow && len(calls) != 0 {
					t.Fatalf("slow called after %v for writes that returned in %v", calls, tc.blockFor)
				}
				if tc.wantSlow {
					if len(calls) != 3 {
						t.Fatalf("slow called %d times for 3 blocked writes, want once each", len(calls))
					}
					for _, after := range calls {
						if after > HandOverWithin {
							t.Errorf("slow called %v into a blocked write, want within %v", after, HandOverWithin)
						}
					}
				}
			})
		})
	}
}

// sleepTerm takes each write after d.
type sleepTerm struct {
	*fakeTerm
	d time.Duration
}

func (s *sleepTerm) Write(b []byte) (int, error) {
	time.Sleep(s.d)
	return len(b), nil
}

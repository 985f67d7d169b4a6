package ratelimit

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/synctest"
	"time"
)

// Inside a synctest bubble time.Now and time.Sleep run on a fake clock, so
// the rate is checked in bytes against exact elapsed time, without waiting.

// chunkReader hands out at most size bytes per Read, as a network does.
type chunkReader struct {
	r    io.Reader
	size int
}

func (c chunkReader) Read(b []byte) (int, error) {
	if len(b) > c.size {
		b = b[:c.size]
	}
	return c.r.Read(b)
}

func TestRateIsObeyedAndNothingIsDropped(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rate  int // bytes per second
		total int // bytes the guest sends
		chunk int // bytes per read from the transport
		buf   int // the caller's buffer
		burst int // 0: the rate, at least 64 (a guest's input)
		step  int // 0: one byte
	}{
		{"one byte a second", 1, 100, 4096, 4096, 0, 0},
		{"the smallest burst", 64, 600, 4096, 4096, 0, 0},
		{"a hundred a second", 100, 1000, 4096, 4096, 0, 0},
		{"a thousand a second", 1000, 5000, 4096, 4096, 0, 0},
		// Rates whose second does not divide evenly into nanoseconds.
		{"three a second", 3, 200, 4096, 4096, 0, 0},
		{"seven a second", 7, 300, 4096, 4096, 0, 0},
		{"three thousand a second", 3000, 9000, 4096, 4096, 0, 0},
		{"a paste at a high rate", 50000, 200000, 4096, 4096, 0, 0},
		{"small transport chunks", 100, 500, 7, 4096, 0, 0},
		{"one byte chunks", 1000, 3000, 1, 4096, 0, 0},
		{"a small caller buffer", 1000, 3000, 4096, 10, 0, 0},
		// A host's output: bursts larger than a second's worth.
		{"a burst of ten seconds", 1000, 30000, 4096, 4096, 10000, 0},
		{"steps of a tenth of a second", 1000, 30000, 4096, 4096, 10000, 100},
		{"a host's flood", 4 << 20, 64 << 20, 16 << 10, 32 << 10, 8 << 20, 4 << 20 / 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				src := make([]byte, tc.total)
				for i := range src {
					src[i] = byte(i * 7)
				}
				burst := tc.burst
				if burst == 0 {
					burst = max(tc.rate, 64)
				}
				rr := New(chunkReader{bytes.NewReader(src), tc.chunk}, tc.rate, burst)
				rr.Step = tc.step
				start := time.Now()
				var got []byte
				b := make([]byte, tc.buf)
				reads := 0
				for {
					n, err := rr.Read(b)
					reads++
					got = append(got, b[:n]...)
					elapsed := time.Since(start)
					// Never more than a burst plus what the rate allows
					// since the first read.
					if allowed := float64(burst) + elapsed.Seconds()*float64(tc.rate); float64(len(got)) > allowed+1e-6 {
						t.Fatalf("%d bytes after %v: more than the %.1f allowed", len(got), elapsed, allowed)
					}
					if err == io.EOF {
						break
					}
					if err != nil {
						t.Fatal(err)
					}
					if n == 0 {
						t.Fatalf("a read of nothing without an error after %d bytes", len(got))
					}
				}
				if !bytes.Equal(got, src) {
					t.Fatalf("read %d bytes, not the %d sent in order", len(got), len(src))
				}
				// Nor slower than the rate: the bytes beyond the burst
				// take their time at the rate, give or take one step's
				// (the read that finds the end waits for a step too) and
				// a nanosecond of rounding per read.
				want := time.Duration(float64(tc.total-burst) / float64(tc.rate) * float64(time.Second))
				step := time.Duration(float64(max(tc.step, 1)) / float64(tc.rate) * float64(time.Second))
				if elapsed := time.Since(start); elapsed > want+step+time.Duration(reads) {
					t.Fatalf("%d bytes took %v, want about %v", tc.total, elapsed, want)
				}
			})
		})
	}
}

func TestIdleReaderBanksNoMoreThanABurst(t *testing.T) {
	for _, rate := range []int{1, 100, 1000} {
		synctest.Test(t, func(t *testing.T) {
			burst := max(rate, 64)
			rr := New(bytes.NewReader(make([]byte, 10*burst)), rate, burst)
			b := make([]byte, 10*burst)
			if n, _ := rr.Read(b); n != burst {
				t.Fatalf("rate %d: first read %d bytes, want the burst of %d", rate, n, burst)
			}
			time.Sleep(time.Hour) // nothing is read for an hour
			start := time.Now()
			if n, _ := rr.Read(b); n != burst || time.Since(start) != 0 {
				t.Fatalf("rate %d: after an idle hour a read got %d bytes after %v, want the burst of %d at once", rate, n, time.Since(start), burst)
			}
			if n, _ := rr.Read(b); n != 1 || time.Since(start) != time.Second/time.Duration(rate) {
				t.Fatalf("rate %d: the read after the burst got %d bytes after %v, want 1 after %v", rate, n, time.Since(start), time.Second/time.Duration(rate))
			}
		})
	}
}

// failingReader returns data, then err.
type failingReader struct {
	data []byte
	err  error
}

func (f *failingReader) Read(b []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, f.err
	}
	n := copy(b, f.data)
	f.data = f.data[n:]
	return n, nil
}

func TestReaderPassesErrorsOn(t *testing.T) {
	gone := errors.New("connection reset")
	for _, want := range []error{io.EOF, gone} {
		synctest.Test(t, func(t *testing.T) {
			rr := New(&failingReader{data: []byte("ls\r"), err: want}, 10, 64)
			b := make([]byte, 100)
			if n, err := rr.Read(b); n != 3 || err != nil {
				t.Fatalf("read %d, %v; want the 3 bytes", n, err)
			}
			if _, err := rr.Read(b); err != want {
				t.Fatalf("err %v, want %v", err, want)
			}
		})
	}
}

package viewer

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

func TestInputRateIsObeyedAndNothingIsDropped(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rate  int // bytes per second
		total int // bytes the guest sends
		chunk int // bytes per read from the transport
		buf   int // the caller's buffer
	}{
		{"one byte a second", 1, 100, 4096, 4096},
		{"the smallest burst", 64, 600, 4096, 4096},
		{"a hundred a second", 100, 1000, 4096, 4096},
		{"a thousand a second", 1000, 5000, 4096, 4096},
		// Rates whose second does not divide evenly into nanoseconds.
		{"three a second", 3, 200, 4096, 4096},
		{"seven a second", 7, 300, 4096, 4096},
		{"three thousand a second", 3000, 9000, 4096, 4096},
		{"a paste at a high rate", 50000, 200000, 4096, 4096},
		{"small transport chunks", 100, 500, 7, 4096},
		{"one byte chunks", 1000, 3000, 1, 4096},
		{"a small caller buffer", 1000, 3000, 4096, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				src := make([]byte, tc.total)
				for i := range src {
					src[i] = byte(i * 7)
				}
				rr := &rateReader{r: chunkReader{bytes.NewReader(src), tc.chunk}, rate: tc.rate}
				burst := max(tc.rate, inputBurstMin)
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
				// take their time at the rate, give or take one byte's
				// (the read that finds the end waits for a byte too) and
				// a nanosecond of rounding per read.
				want := time.Duration(float64(tc.total-burst) / float64(tc.rate) * float64(time.Second))
				if elapsed := time.Since(start); elapsed > want+time.Second/time.Duration(tc.rate)+time.Duration(reads) {
					t.Fatalf("%d bytes took %v, want about %v", tc.total, elapsed, want)
				}
			})
		})
	}
}

func TestIdleGuestBanksNoMoreThanABurst(t *testing.T) {
	for _, rate := range []int{1, 100, 1000} {
		synctest.Test(t, func(t *testing.T) {
			burst := max(rate, inputBurstMin)
			rr := &rateReader{r: bytes.NewReader(make([]byte, 10*burst)), rate: rate}
			b := make([]byte, 10*burst)
			if n, _ := rr.Read(b); n != burst {
				t.Fatalf("rate %d: first read %d bytes, want the burst of %d", rate, n, burst)
			}
			time.Sleep(time.Hour) // the guest types nothing for an hour
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

func TestInputRateReaderPassesErrorsOn(t *testing.T) {
	gone := errors.New("connection reset")
	for _, want := range []error{io.EOF, gone} {
		synctest.Test(t, func(t *testing.T) {
			rr := &rateReader{r: &failingReader{data: []byte("ls\r"), err: want}, rate: 10}
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

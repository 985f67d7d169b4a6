// Package ratelimit paces a reader: a token bucket that waits for tokens
// before it reads, so that nothing is dropped and the writer on the far side
// of a flow-controlled transport (an SSH channel's window, a TCP socket)
// simply waits. The relay paces each guest's input and each host's output
// with it.
package ratelimit

import (
	"io"
	"math"
	"time"
)

// Reader reads from R at most Rate bytes per second on average, with bursts
// of up to Burst bytes (at least one byte). The first read may take a whole
// burst; an idle reader banks no more than a burst.
type Reader struct {
	R     io.Reader
	Rate  int // bytes per second, > 0
	Burst int // bytes
	// Step is the least a read waits for once the bucket is empty (at
	// least one byte, at most a burst): at a high rate, a wait per byte
	// would cost a wake-up per byte.
	Step int

	tokens float64
	at     time.Time
}

// New returns a Reader of r at rate bytes per second with bursts of burst
// bytes.
func New(r io.Reader, rate, burst int) *Reader {
	return &Reader{R: r, Rate: rate, Burst: burst}
}

func (rr *Reader) burst() float64 { return float64(max(rr.Burst, 1)) }

func (rr *Reader) step() float64 { return min(float64(max(rr.Step, 1)), rr.burst()) }

func (rr *Reader) Read(b []byte) (int, error) {
	now := time.Now()
	if rr.at.IsZero() {
		rr.tokens = rr.burst()
	} else {
		rr.tokens = min(rr.burst(), rr.tokens+now.Sub(rr.at).Seconds()*float64(rr.Rate))
	}
	rr.at = now
	if step := min(rr.step(), float64(max(len(b), 1))); rr.tokens < step {
		// Rounded up, and at least step tokens after: rounded down, the
		// wait could leave 0.999 tokens and a read of nothing.
		wait := time.Duration(math.Ceil((step - rr.tokens) / float64(rr.Rate) * float64(time.Second)))
		time.Sleep(wait)
		rr.tokens = max(step, rr.tokens+wait.Seconds()*float64(rr.Rate))
		rr.at = rr.at.Add(wait)
	}
	if n := int(rr.tokens); n < len(b) {
		b = b[:n]
	}
	n, err := rr.R.Read(b)
	rr.tokens -= float64(n)
	return n, err
}

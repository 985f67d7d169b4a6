package web

import (
	"context"
	"sync/atomic"
	"time"
)

// Live counts the browser guests a relay serves. Their connections are
// hijacked, so http.Server.Shutdown does not wait for them: a stopping
// relay waits here, once their sessions have ended, for each guest's leave
// to be recorded before it closes the audit trail.
type Live struct{ n atomic.Int64 }

func (l *Live) add(d int64) {
	if l != nil {
		l.n.Add(d)
	}
}

// Count is the number of browser guests being served.
func (l *Live) Count() int64 { return l.n.Load() }

// Wait returns nil once no browser guest is served, or ctx's error when it
// ends first.
func (l *Live) Wait(ctx context.Context) error {
	for l.n.Load() > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return nil
}

package recording

import (
	"sync"
	"testing"

	"tmate-relay/service/protocol"
)

// Guests may join while the recording starts (a session resumed after a
// relay restart has guests waiting): their markers meet a recording
// whose file is being set.
func TestRecordWhileGuestsJoin(t *testing.T) {
	dir := t.TempDir()
	s, rec := recordedSession(t, Config{Dir: dir})
	defer rec.Close()
	apply(t, s, window(80, 23))
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if g, err := s.Attach(false, "192.0.2.9", 80, 24); err == nil {
				s.Detach(g)
			}
		}
	}()
	apply(t, s, &protocol.Ready{})
	close(stop)
	wg.Wait()
	if !s.Recorded() {
		t.Fatal("not recorded")
	}
}

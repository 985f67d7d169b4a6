package recording

import (
	"strconv"
	"testing"
	"time"

	"tmate-relay/service/guest"
	"tmate-relay/service/protocol"
	"tmate-relay/service/session"
)

// BenchmarkRecordFrame is what one frame costs the recorder: a line of
// output scrolls an 80x24 session, which is composed, masked, rendered
// and written to the file as one event.
func BenchmarkRecordFrame(b *testing.B) {
	s := session.New(session.Config{}, quietHost{})
	session.NewRegistry(0).Add(s)
	s.Apply(window(80, 23))
	obs := &recording{quit: make(chan struct{})}
	g := s.Observe(obs)
	f, err := create(b.TempDir(), header{Width: 80, Height: 24}, time.Now(), 0)
	if err != nil {
		b.Fatal(err)
	}
	defer f.close(time.Now(), "")
	var (
		frame    guest.Frame
		renderer guest.Renderer
		buf      []byte
		line     []byte
	)
	tokens := []string{s.Token(), s.ReadOnlyToken()}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		line = append(strconv.AppendInt(append(line[:0], "line "...), int64(i), 10), "\r\n"...)
		s.Apply(&protocol.PtyData{PaneID: 1, Data: line})
		s.Compose(g, &frame)
		maskTokens(&frame, tokens)
		buf = renderer.Render(buf[:0], &frame)
		if err := f.event(time.Now(), "o", string(buf)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(f.size)/float64(b.N), "file-bytes/frame")
}

package vt

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
)

func corpusConcat(b *testing.B) []byte {
	m, _ := filepath.Glob(filepath.Join(corpusDir, "streams", "*.bin"))
	if len(m) == 0 {
		b.Skip("corpus not found")
	}
	var buf bytes.Buffer
	for _, f := range m {
		d, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		buf.Write(d)
		buf.WriteString("\x1b[?1049l\x1b[r\x1b[0m\r\n") // leave each program's state
	}
	return buf.Bytes()
}

func seqOutput(n int) []byte {
	var buf []byte
	for i := 1; i <= n; i++ {
		buf = strconv.AppendInt(buf, int64(i), 10)
		buf = append(buf, '\r', '\n') // as the pty's onlcr delivers it
	}
	return buf
}

func benchIngest(b *testing.B, data []byte, chunk int) {
	e := New(80, 24, 2000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for p := 0; p < len(data); p += chunk {
			e.Write(data[p:min(p+chunk, len(data))])
		}
	}
}

// BenchmarkIngestCorpus feeds the 20 corpus streams concatenated, in the 4
// KiB reads a PTY_DATA stream arrives in.
func BenchmarkIngestCorpus(b *testing.B) { benchIngest(b, corpusConcat(b), 4096) }

// BenchmarkIngestSeq feeds the output of `seq 1 1000000`.
func BenchmarkIngestSeq(b *testing.B) { benchIngest(b, seqOutput(1000000), 4096) }

// BenchmarkMemoryFullHistory reports the heap held by one 100-column pane
// whose 2000 history lines and screen are full of coloured text.
func BenchmarkMemoryFullHistory(b *testing.B) {
	var data []byte
	for i := 0; i < 2100; i++ {
		for j := 0; j < 10; j++ {
			data = fmt.Appendf(data, "\x1b[3%dm%-10d", (i+j)%8, i*10+j)
		}
		data = append(data, "\x1b[0m\r\n"...)
	}
	b.ReportAllocs()
	var held float64
	for i := 0; i < b.N; i++ {
		runtime.GC()
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		e := New(100, 24, 2000)
		e.Write(data)
		runtime.GC()
		runtime.ReadMemStats(&m1)
		held = float64(m1.HeapAlloc) - float64(m0.HeapAlloc)
		if e.HistorySize() < 1800 {
			b.Fatalf("history %d", e.HistorySize())
		}
		runtime.KeepAlive(e)
	}
	b.ReportMetric(held/(1<<20), "MiB/pane")
}

// BenchmarkMemoryEmpty reports the heap held by a fresh 80x24 pane.
func BenchmarkMemoryEmpty(b *testing.B) {
	var held float64
	for i := 0; i < b.N; i++ {
		runtime.GC()
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		e := New(80, 24, 2000)
		e.Write([]byte("$ "))
		runtime.GC()
		runtime.ReadMemStats(&m1)
		held = float64(m1.HeapAlloc) - float64(m0.HeapAlloc)
		runtime.KeepAlive(e)
	}
	b.ReportMetric(held/1024, "KiB/pane")
}

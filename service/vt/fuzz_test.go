package vt

import (
	"os"
	"path/filepath"
	"testing"
)

func FuzzWrite(f *testing.F) {
	m, _ := filepath.Glob(filepath.Join(corpusDir, "streams", "*.bin"))
	features, _ := filepath.Glob(filepath.Join(featureDir, "*.bin"))
	for _, p := range append(m, features...) {
		if d, err := os.ReadFile(p); err == nil {
			f.Add(d, uint8(80), uint8(24))
		}
	}
	f.Add([]byte("\x1b[5;10r\x1b[?6h\x1b[2S\x1b[3T\x1b[?1049h日本\u0301\x1b[4h\x1b[2@x\x1b[b"), uint8(7), uint8(3))
	f.Add([]byte("\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5\xcc\x81\x1b]0;t\x07\x1b[38:2::1:2:3m\x1b[4:3m"), uint8(3), uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, w, h uint8) {
		W, H := int(w%200)+1, int(h%100)+1
		e := New(W, H, 50)
		pool := NewPool("test", 0, nil)
		e.SetPool(pool)
		check := func() {
			if drawn, kept := pool.Used(), e.Cells(); drawn != kept {
				t.Fatalf("%d cells drawn, %d kept", drawn, kept)
			}
			gw, gh := e.Size()
			if gw != W || gh != H {
				t.Fatalf("size %dx%d, want %dx%d", gw, gh, W, H)
			}
			x, y, _ := e.Cursor()
			if x < 0 || x >= W || y < 0 || y >= H {
				t.Fatalf("cursor %d,%d outside %dx%d", x, y, W, H)
			}
			if e.HistorySize() > 50 {
				t.Fatalf("history %d over limit", e.HistorySize())
			}
			for yy := 0; yy < H; yy++ {
				if len(e.Line(yy)) > W {
					t.Fatalf("line %d longer than width", yy)
				}
				for xx := 0; xx < W; xx++ {
					_ = e.Cell(xx, yy).String()
				}
			}
		}
		// Split the input at an arbitrary point: must not matter.
		half := len(data) / 2
		e.Write(data[:half])
		e.Write(data[half:])
		check()
		if len(data) > 0 && data[0]&1 == 1 {
			W, H = int(data[0]%50)+1, int(data[len(data)-1]%30)+1
			e.Resize(W, H)
			check()
			e.Write(data)
			check()
		}
	})
}

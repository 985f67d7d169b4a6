package recording

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// maxLine bounds one event line when reading a recording back: a frame is
// at most a screen's worth of cells with their escape sequences.
const maxLine = 64 << 20

// Play writes the output events of the recording r to w, waiting between
// them as long as the session did, divided by speed; sleep waits (nil:
// time.Sleep). Markers, resizes and input are not shown.
func Play(w io.Writer, r io.Reader, speed float64, sleep func(time.Duration)) error {
	if speed <= 0 {
		return fmt.Errorf("speed %v must be more than 0", speed)
	}
	if sleep == nil {
		sleep = time.Sleep
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return err
		}
		return errors.New("empty recording")
	}
	if _, err := decodeHeader(sc.Bytes()); err != nil {
		return err
	}
	var last float64
	for n := 2; sc.Scan(); n++ {
		var ev [3]any
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return fmt.Errorf("line %d: %w", n, err)
		}
		at, ok1 := ev[0].(float64)
		code, ok2 := ev[1].(string)
		data, ok3 := ev[2].(string)
		if !ok1 || !ok2 || !ok3 {
			return fmt.Errorf("line %d: not an asciicast v2 event", n)
		}
		if code != "o" {
			continue
		}
		if at > last {
			sleep(time.Duration((at - last) / speed * float64(time.Second)))
			last = at
		}
		if _, err := io.WriteString(w, data); err != nil {
			return err
		}
	}
	return sc.Err()
}

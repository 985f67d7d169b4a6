package recording

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Info describes one recording on disk.
type Info struct {
	ID          string    // the file's name without ".cast"; never a token
	SessionName string    // "" for unnamed sessions
	Host        string    // the host's address
	Start, End  time.Time // End is zero while the session is still being recorded
	Size        int64     // bytes
	Guests      int       // guests that joined
	Previous    string    // ID of the recording this one continues after a relay restart, or ""
	Stopped     string    // why recording stopped early ("max_bytes reached", "disk full"...), or ""
}

// List returns the recordings in dir, newest first. A missing dir holds
// no recordings. Files that cannot be read or are not recordings the relay
// wrote are left out of the list and named in the returned error (one
// line each), so a caller can show both: a non-nil error may come with a
// non-empty list.
func List(dir string) ([]Info, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("recordings: %w", err)
	}
	var (
		list []Info
		errs []error
	)
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), Ext)
		if !ok || !ValidID(id) || !e.Type().IsRegular() {
			continue
		}
		in, err := Read(filepath.Join(dir, e.Name()))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if in.ID != id {
			errs = append(errs, fmt.Errorf("%s: header names recording %s", filepath.Join(dir, e.Name()), in.ID))
			continue
		}
		list = append(list, in)
	}
	sort.SliceStable(list, func(i, j int) bool {
		if !list[i].Start.Equal(list[j].Start) {
			return list[i].Start.After(list[j].Start)
		}
		return list[i].ID > list[j].ID
	})
	return list, errors.Join(errs...)
}

// Path returns the file of the recording id in dir. It refuses an id of
// any shape List could not return (so no "../", no other files) and one
// with no file: that error wraps fs.ErrNotExist.
func Path(dir, id string) (string, error) {
	if !ValidID(id) {
		return "", fmt.Errorf("%q is not a recording ID", id)
	}
	p := filepath.Join(dir, id+Ext)
	fi, err := os.Lstat(p)
	if err != nil {
		return "", fmt.Errorf("recording %s: %w", id, err)
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("recording %s: %s is not a regular file", id, p)
	}
	return p, nil
}

// Read returns what the header of the recording file path says.
func Read(path string) (Info, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return Info{}, err
	}
	h, err := readHeader(path)
	if err != nil {
		return Info{}, err
	}
	return h.Relay.info(fi.Size()), nil
}

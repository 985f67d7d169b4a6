package packaging

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/blakesmith/ar"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// debControl returns the control paragraph of a .deb (its ./control file),
// without the trailing blank line, and its fields by name.
func debControl(deb []byte) (string, map[string]string, error) {
	r := ar.NewReader(bytes.NewReader(deb))
	for {
		h, err := r.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return "", nil, errors.New("no control.tar member")
			}
			return "", nil, err
		}
		name := strings.TrimSuffix(h.Name, "/")
		if !strings.HasPrefix(name, "control.tar") {
			continue
		}
		z, closeZ, err := decompress(name, r)
		if err != nil {
			return "", nil, err
		}
		defer closeZ()
		t := tar.NewReader(z)
		for {
			th, err := t.Next()
			if err != nil {
				return "", nil, fmt.Errorf("no control file: %v", err)
			}
			if strings.TrimPrefix(th.Name, "./") != "control" {
				continue
			}
			b, err := io.ReadAll(io.LimitReader(t, 1<<20))
			if err != nil {
				return "", nil, err
			}
			text := strings.TrimRight(string(b), "\n")
			fields := map[string]string{}
			for _, line := range strings.Split(text, "\n") {
				if line == "" || line[0] == ' ' || line[0] == '\t' {
					continue
				}
				if k, v, ok := strings.Cut(line, ":"); ok {
					fields[k] = strings.TrimSpace(v)
				}
			}
			if fields["Package"] == "" || fields["Version"] == "" || fields["Architecture"] == "" {
				return "", nil, errors.New("control lacks Package, Version or Architecture")
			}
			return text, fields, nil
		}
	}
}

// decompress reads the .deb member name (NAME.tar, .tar.gz, .tar.xz or
// .tar.zst) from r as a plain tar stream; done releases the decoder.
func decompress(name string, r io.Reader) (tarStream io.Reader, done func(), err error) {
	switch {
	case strings.HasSuffix(name, ".tar"):
		return r, func() {}, nil
	case strings.HasSuffix(name, ".tar.gz"):
		gz, err := gzip.NewReader(r)
		return gz, func() {}, err
	case strings.HasSuffix(name, ".tar.xz"):
		x, err := xz.NewReader(r)
		return x, func() {}, err
	case strings.HasSuffix(name, ".tar.zst"):
		d, err := zstd.NewReader(r)
		if err != nil {
			return nil, nil, err
		}
		return d, d.Close, nil
	}
	return nil, nil, fmt.Errorf("unknown member %s", name)
}

// DebFile returns the contents of the file at path (e.g. /etc/tmate.conf)
// that the .deb deb installs, at most 1 MiB of it.
func DebFile(deb []byte, path string) ([]byte, error) {
	want := strings.TrimPrefix(path, "/")
	r := ar.NewReader(bytes.NewReader(deb))
	for {
		h, err := r.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, errors.New("no data.tar member")
			}
			return nil, err
		}
		name := strings.TrimSuffix(h.Name, "/")
		if !strings.HasPrefix(name, "data.tar") {
			continue
		}
		z, done, err := decompress(name, r)
		if err != nil {
			return nil, err
		}
		defer done()
		t := tar.NewReader(z)
		for {
			th, err := t.Next()
			if errors.Is(err, io.EOF) {
				return nil, fmt.Errorf("the package holds no %s", path)
			}
			if err != nil {
				return nil, err
			}
			if strings.TrimPrefix(th.Name, "./") == want {
				return io.ReadAll(io.LimitReader(t, 1<<20))
			}
		}
	}
}

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
		var z io.Reader
		switch name {
		case "control.tar":
			z = r
		case "control.tar.gz":
			gz, err := gzip.NewReader(r)
			if err != nil {
				return "", nil, err
			}
			z = gz
		case "control.tar.xz":
			x, err := xz.NewReader(r)
			if err != nil {
				return "", nil, err
			}
			z = x
		case "control.tar.zst":
			d, err := zstd.NewReader(r)
			if err != nil {
				return "", nil, err
			}
			defer d.Close()
			z = d
		default:
			return "", nil, fmt.Errorf("unknown member %s", name)
		}
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

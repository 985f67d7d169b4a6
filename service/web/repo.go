package web

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"tmate-relay/packaging"
	"tmate-relay/service/config"
)

// mountRepo serves the relay's signed repositories from the tree the relay
// keeps in its state directory (packaging.LiveRepoDir, rebuilt by serve):
// /apt/ and /yum/, the signing key at /tmate-relay.asc (armored) and
// /tmate-relay.gpg (binary keyring). The tree is swapped in whole, and every
// request opens its files afresh, so a client sees one generation or the
// next, never a mix within one file.
func mountRepo(mux *http.ServeMux, cfg *config.Config) {
	if !cfg.Repo.Enabled {
		return
	}
	serveRepo(mux, packaging.LiveRepoDir(cfg))
}

func serveRepo(mux *http.ServeMux, dir string) {
	for _, prefix := range []string{"/apt/", "/yum/"} {
		fs := http.StripPrefix(prefix, http.FileServer(noListing{http.Dir(filepath.Join(dir, strings.Trim(prefix, "/")))}))
		mux.Handle("GET "+prefix, repoReady(dir, fs))
	}
	for name, ctype := range map[string]string{
		packaging.RepoKeyName + ".asc": "application/pgp-keys",
		packaging.RepoKeyName + ".gpg": "application/octet-stream",
	} {
		mux.Handle("GET /"+name, repoReady(dir, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", ctype)
			http.ServeFile(w, r, filepath.Join(dir, name))
		})))
	}
}

// repoReady answers 503 until the first repository has been written, and
// asks caches to revalidate indexes, which change in place.
func repoReady(dir string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := os.Stat(filepath.Join(dir, packaging.RepoKeyName+".asc")); err != nil {
			w.Header().Set("Retry-After", "10")
			http.Error(w, "the package repository is being built; try again shortly", http.StatusServiceUnavailable)
			return
		}
		p := r.URL.Path
		if strings.Contains(p, "/dists/") && !strings.Contains(p, "/by-hash/") || strings.HasSuffix(p, "/repomd.xml") ||
			strings.HasSuffix(p, ".asc") || strings.HasSuffix(p, ".gpg") || strings.HasSuffix(p, ".repo") {
			w.Header().Set("Cache-Control", "no-cache")
		}
		if strings.HasSuffix(p, ".repo") || strings.HasSuffix(p, ".sources") {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		}
		h.ServeHTTP(w, r)
	})
}

// noListing refuses directory listings: the repository is read by path.
type noListing struct{ fs http.FileSystem }

func (n noListing) Open(name string) (http.File, error) {
	f, err := n.fs.Open(name)
	if err != nil {
		return nil, err
	}
	if st, err := f.Stat(); err == nil && st.IsDir() {
		f.Close()
		return nil, os.ErrNotExist
	}
	return f, nil
}

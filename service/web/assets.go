package web

import (
	"embed"
	"io/fs"
	"net/http"
)

// assets are the pages' scripts and styles, served from the binary: the
// browser guest and the recordings page work offline and need no CDN.
// assets/vendor holds xterm.js and its fit addon, and asciinema-player, as
// published on npm (versions pinned in npm/package.json), with their
// licences; `make web-assets` refreshes them.
//
//go:embed assets
var assets embed.FS

func assetServer() http.Handler {
	sub, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err)
	}
	files := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "" || r.URL.Path[len(r.URL.Path)-1] == '/' {
			http.NotFound(w, r) // no listings
			return
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
}

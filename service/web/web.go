// Package web is the relay's HTTP side: what the relay is, the tmate.conf
// hosts need, and a health check for load balancers and monitoring.
package web

import (
	"fmt"
	"net/http"

	"tmate-relay/service/clientconf"
	"tmate-relay/service/config"
)

// Handler serves the relay's web pages for cfg.
func Handler(cfg *config.Config) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "tmate-relay: a self-hosted relay for tmate.\n\n"+
			"Point a host at it with the configuration at /tmate.conf:\n"+
			"  curl -o ~/.tmate.conf %s/tmate.conf && tmate\n", cfg.WebURL())
	})
	mux.HandleFunc("GET /tmate.conf", func(w http.ResponseWriter, r *http.Request) {
		conf, err := clientconf.FromConfig(cfg)
		if err != nil {
			http.Error(w, "the relay's host keys cannot be read", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprint(w, conf)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mountRepo(mux, cfg)
	return mux
}

// Package dashboard is the controller's web dashboard: static HTML, CSS and
// JavaScript embedded in the daemon (no build step, no other service). The
// pages sign in with a Slurm JWT (scontrol token), keep it in the browser's
// sessionStorage and read the /v1 API with it, so that the API's
// authorization rules decide what each user sees; charts are SVG drawn by
// the script.
package dashboard

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed static
var static embed.FS

// contentSecurityPolicy allows only the dashboard's own script, style and
// API: no inline script, no other origin, no framing. The pages build
// their DOM from API data with text nodes, never as HTML.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Handler serves the dashboard's files (mounted at /ui/, the prefix
// stripped), with a strict content security policy; pages are not cached,
// so a new controller version is picked up at once.
func Handler() http.Handler {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic("dashboard: embedded files: " + err.Error()) // the embed directive guarantees the folder
	}
	files := http.FileServer(http.FS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
}

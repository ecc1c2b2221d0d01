package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"sync"
)

// static holds the console's assets: htmx (vendored from the npm registry,
// version in the file name, see static/README.md), the hand-written
// stylesheet and the small script that wires up what htmx does not.
//
//go:embed static
var staticFS embed.FS

// assetVersions maps each asset to a hash of its content, so URLs change
// when the file does and browsers may cache them for a long time.
var assetVersions = sync.OnceValue(func() map[string]string {
	out := map[string]string{}
	fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := staticFS.ReadFile(p)
		sum := sha256.Sum256(b)
		out[p[len("static/"):]] = hex.EncodeToString(sum[:6])
		return nil
	})
	return out
})

// asset is the URL of a static file, versioned by its content.
func asset(name string) string {
	return "/static/" + name + "?v=" + assetVersions()[name]
}

func staticHandler() http.Handler {
	files := http.FileServerFS(staticFS)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("v") != "" {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		}
		files.ServeHTTP(w, r)
	})
}

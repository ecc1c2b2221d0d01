package policy

import (
	_ "embed"
	"sync"
)

//go:embed catalogs/crm.yaml
var defaultCatalogYAML []byte

// DefaultCatalogYAML returns the source of the embedded default catalog.
func DefaultCatalogYAML() []byte { return append([]byte(nil), defaultCatalogYAML...) }

var defaultCatalog = sync.OnceValues(func() (*Catalog, error) {
	return ParseCatalog("catalogs/crm.yaml", defaultCatalogYAML)
})

// DefaultCatalog returns the embedded default CRM catalog (DESIGN.md §2).
// The catalog is immutable and shared.
func DefaultCatalog() *Catalog {
	c, err := defaultCatalog()
	if err != nil {
		// The embedded file is tested; a broken one is a build defect.
		panic("policy: embedded default catalog is invalid: " + err.Error())
	}
	return c
}

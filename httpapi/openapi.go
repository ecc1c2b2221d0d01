package httpapi

import (
	_ "embed"
	"encoding/json"
	"net/http"
	"sync"

	"go.yaml.in/yaml/v3"
)

// openapiYAML is the OpenAPI 3.1 document of the API, written by hand so
// that it reads as documentation; the contract tests validate every
// request and response of the test suite against it.
//
//go:embed openapi.yaml
var openapiYAML []byte

// OpenAPI returns the OpenAPI document as JSON.
var OpenAPI = sync.OnceValue(func() []byte {
	var doc any
	if err := yaml.Unmarshal(openapiYAML, &doc); err != nil {
		panic("httpapi: openapi.yaml: " + err.Error())
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		panic("httpapi: openapi.yaml: " + err.Error())
	}
	return append(b, '\n')
})

func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(OpenAPI())
}

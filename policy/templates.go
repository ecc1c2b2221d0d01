package policy

import (
	"bytes"
	_ "embed"
	"sync"

	"go.yaml.in/yaml/v3"
)

// Template is a starting point for a custom role (R9).
type Template struct {
	ID          string   `yaml:"id"`
	Name        string   `yaml:"name"`
	Description string   `yaml:"description"`
	Audience    Audience `yaml:"audience"`
	Grants      Grants   `yaml:"grants"`
}

//go:embed catalogs/templates.yaml
var templatesYAML []byte

var templates = sync.OnceValues(func() ([]Template, error) {
	var doc struct {
		Templates []Template `yaml:"templates"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(templatesYAML))
	dec.KnownFields(true)
	err := dec.Decode(&doc)
	return doc.Templates, err
})

// Templates returns the built-in role templates: sales, support, billing,
// analyst and readonly_client (R9). Callers must not modify them; use
// Grants.Clone.
func Templates() []Template {
	ts, err := templates()
	if err != nil {
		panic("policy: embedded templates are invalid: " + err.Error())
	}
	return ts
}

// TemplateByID returns the template with the given id, or a not_found error
// listing the ones that exist.
func TemplateByID(id string) (Template, error) {
	var ids []string
	for _, t := range Templates() {
		if t.ID == id {
			t.Grants = t.Grants.Clone()
			return t, nil
		}
		ids = append(ids, t.ID)
	}
	return Template{}, &Error{Code: CodeNotFound, Message: "unknown template " + quote(id) + "; use " + joinQuoted(ids),
		Details: map[string]any{"template": id, "templates": ids}}
}

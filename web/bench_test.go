package web

import (
	"bytes"
	"testing"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// BenchmarkMatrixDraft is the server's share of one click in the matrix:
// apply the change, lay out every cell (C2, C4, C6) and render the HTML
// that htmx swaps in. It reports the answer's size.
func BenchmarkMatrixDraft(b *testing.B) {
	p, err := parsePages()
	if err != nil {
		b.Fatal(err)
	}
	cat := policy.DefaultCatalog()
	tpl, _ := policy.TemplateByID("sales")
	var buf bytes.Buffer
	for b.Loop() {
		g := tpl.Grants.Clone()
		adjusted, err := setLevel(cat, policy.Internal, g, "contacts_view", "own")
		if err != nil {
			b.Fatal(err)
		}
		m := buildMatrix(cat, policy.Internal, g, map[string]bool{"crm": true}, nil)
		m.Adjusted = adjusted
		v := roleView{Role: admin.Role{ID: "sales", Name: "Sales", Audience: policy.Internal}, Matrix: m, Base: 1}
		buf.Reset()
		if err := p.byName["role"].ExecuteTemplate(&buf, "matrix", view{WS: "acme", CSRF: "t", Data: v}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len()), "bytes/answer")
}

package inbox_test

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/leadhub/leadhub"

// TestDependencyRules enforces DESIGN.md §2 over `go list -deps`: the domain
// depends on nothing of ours, adapters depend on the domain and their own
// technology only, and only cmd/leadhub sees config and everything else.
func TestDependencyRules(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps=false", "-json", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	type pkg struct {
		ImportPath string
		Deps       []string
	}
	var pkgs []pkg
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatalf("decode go list: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 5 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	forbiddenInDomain := []string{"github.com/jmoiron/sqlx", "github.com/redis/", "github.com/gorilla/", "github.com/jackc/", "modernc.org/sqlite", "github.com/prometheus/"}
	for _, p := range pkgs {
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		var ours []string
		for _, d := range p.Deps {
			if d == module || strings.HasPrefix(d, module+"/") {
				ours = append(ours, strings.TrimPrefix(strings.TrimPrefix(d, module), "/"))
			}
		}
		allowed := func(dep string) bool {
			// workhours is the domain's calendar arithmetic, pure stdlib:
			// whatever may import inbox may import it.
			domain := dep == "inbox" || dep == "inbox/workhours"
			switch {
			case strings.HasPrefix(rel, "cmd/"):
				return true
			case rel == "inbox":
				return dep == "inbox/workhours"
			case rel == "inbox/workhours":
				return false
			case strings.HasSuffix(rel, "test"): // test helpers may use what they test
				return dep == "inbox" || strings.HasPrefix(dep, "inbox/") || strings.HasPrefix(rel, dep+"/")
			case rel == "config":
				// Validating [sla] parses the working hours the way
				// the hub will count them; workhours is pure stdlib.
				return dep == "inbox/workhours"
			case strings.HasPrefix(rel, "connectors/"):
				return domain || dep == "connectors"
			default: // store, web, inbox/sqlq, inbox/redisq, connectors
				return domain
			}
		}
		for _, dep := range ours {
			if !allowed(dep) {
				t.Errorf("%s imports %s, which DESIGN.md §2 forbids", rel, dep)
			}
			if dep == "config" && rel != "cmd/leadhub" {
				t.Errorf("%s imports config; only cmd/leadhub may", rel)
			}
			if (strings.HasSuffix(dep, "test") || strings.Contains(dep, "test/")) && !strings.HasSuffix(rel, "test") {
				t.Errorf("%s links the test helper %s into production code", rel, dep)
			}
		}
		if rel == "inbox" {
			for _, d := range p.Deps {
				for _, f := range forbiddenInDomain {
					if strings.HasPrefix(d, f) {
						t.Errorf("inbox depends on %s; the domain must stay free of technology", d)
					}
				}
			}
		}
	}
}

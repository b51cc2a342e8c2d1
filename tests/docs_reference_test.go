package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// docs/commands.md documents every command of the table, every
// subcommand, and gives bucketd's own commands the syntax that COMMAND DOCS
// (and so redis-cli's help) shows.
func TestDocsReferenceCoversEveryCommand(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join("..", "docs", "commands.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	headings := map[string]bool{}
	for _, line := range strings.Split(doc, "\n") {
		if h, ok := strings.CutPrefix(line, "### "); ok {
			for _, name := range strings.Split(h, ", ") {
				headings[name] = true
			}
		}
	}

	s := Start(t)
	c := s.Client(t, 3)
	reply, err := c.Do(ctx(t), "COMMAND", "DOCS").Result()
	if err != nil {
		t.Fatal(err)
	}
	docs, ok := reply.(map[any]any)
	if !ok || len(docs) == 0 {
		t.Fatalf("COMMAND DOCS = %T %v", reply, reply)
	}
	for k, v := range docs {
		name := strings.ToUpper(k.(string))
		if !headings[name] {
			t.Errorf("docs/commands.md has no heading for %s", name)
		}
		d := v.(map[any]any)
		if subs, ok := d["subcommands"].(map[any]any); ok {
			for sk := range subs {
				sub := strings.ToUpper(strings.ReplaceAll(sk.(string), "|", " "))
				if !strings.Contains(doc, "`"+sub) {
					t.Errorf("docs/commands.md does not show %s", sub)
				}
			}
		}
		if _, hasArgs := d["arguments"]; !hasArgs {
			continue
		}
		syntax, _ := d["syntax"].(string)
		want := "`" + name + " " + syntax + "`"
		if syntax == "" {
			want = "`" + name + "`"
		}
		if !strings.Contains(doc, want) {
			t.Errorf("docs/commands.md does not show %s as COMMAND DOCS does: %s", name, want)
		}
	}
}

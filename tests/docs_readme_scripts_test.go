package tests

import (
	"crypto/sha1"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The README's Scripts section: its Lua block is examples/scripts/buy.lua,
// and its redis-cli lines do what it says — alice's order goes through,
// bob's fails on the stock check after inserting his order, and nothing of
// it remains.
func TestDocsReadmeScripts(t *testing.T) {
	t.Parallel()
	redisCLI(t)
	raw, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	lua, err := os.ReadFile(filepath.Join("..", "examples", "scripts", "buy.lua"))
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(readme, "\n## Scripts\n")
	if i < 0 {
		t.Fatal("README.md has no Scripts section")
	}
	if !strings.Contains(readme[i:], "```lua\n"+string(lua)+"```\n") {
		t.Error("the README's Scripts section does not show examples/scripts/buy.lua as it is")
	}

	s := Start(t)
	var outs []string
	for _, line := range readmeCLILines(t, readme, "## Scripts") {
		env, script := cliScript(t, s, line)
		cmd := exec.Command("sh", "-c", script)
		cmd.Env = env
		cmd.Dir = ".." // --eval reads the script from the repository
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", line, err, out)
		}
		outs = append(outs, strings.TrimSpace(string(out)))
	}
	if len(outs) != 7 {
		t.Fatalf("README Scripts: %d redis-cli lines, want 7: %q", len(outs), outs)
	}
	if !strings.HasPrefix(outs[3], `{"id":1,"sku":"lamp","userId":"alice","qty":2,`) {
		t.Errorf("alice's order printed %q", outs[3])
	}
	if want := "ERR user_script:13: only 1 lamp left script: " + readmeSHA1(string(lua)) + ", on @user_script:13."; outs[4] != want {
		t.Errorf("bob's order printed %q, want %q", outs[4], want)
	}
	if !strings.HasPrefix(outs[5], `{"sku":"lamp","qty":1,`) {
		t.Errorf("the lamp after both orders: %q, want qty 1", outs[5])
	}
	if outs[6] != "1" {
		t.Errorf("B.COUNT orders = %q, want 1: bob's order was rolled back", outs[6])
	}
}

// readmeSHA1 is the SHA1 by which EVALSHA names a script.
func readmeSHA1(s string) string {
	sum := sha1.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

package format

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/rolecall/rolecall/pkg/creds"
)

var update = flag.Bool("update", false, "rewrite the golden files and the fuzz seed corpus")

// checkGolden compares got with testdata/golden/name, or rewrites the file
// with -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o600); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./pkg/format -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (run with -update if the change is intended):\n--- got ---\n%s\n--- want ---\n%s", path, got, want)
	}
}

func TestGolden(t *testing.T) {
	typical := Options{Region: "eu-central-1", ProfileName: "deploy"}
	psHazards := testCreds()
	psHazards.SecretAccessKey = "it's \u2018quoted\u2019 \u201aand\u201b $(Get-Date) `n \"x\" \\ é"
	psHazards.SessionToken = "line1\r\nline2\t\x1b\U0001F511"
	cmdSpecials := testCreds()
	cmdSpecials.SecretAccessKey = "a^b&c|d<e>f(g)h i ' ; , = `"
	tests := []struct {
		name string
		f    Format
		c    creds.Credentials
		opt  Options
	}{
		{"env", Env, testCreds(), typical},
		{"fish", Fish, testCreds(), typical},
		{"powershell", PowerShell, testCreds(), typical},
		{"cmd", Cmd, testCreds(), typical},
		{"dotenv", Dotenv, testCreds(), typical},
		{"json", JSON, testCreds(), typical},
		{"process", Process, testCreds(), typical},
		{"ini", INI, testCreds(), typical},
		{"github", GitHub, testCreds(), typical},
		{"env-long-term", Env, longTermCreds(), Options{}},
		{"fish-long-term", Fish, longTermCreds(), Options{}},
		{"powershell-long-term", PowerShell, longTermCreds(), Options{}},
		{"cmd-long-term", Cmd, longTermCreds(), Options{}},
		{"dotenv-long-term", Dotenv, longTermCreds(), Options{}},
		{"json-long-term", JSON, longTermCreds(), Options{}},
		{"process-long-term", Process, longTermCreds(), Options{}},
		{"ini-long-term", INI, longTermCreds(), Options{ProfileName: "default"}},
		{"powershell-hazards", PowerShell, psHazards, Options{Region: "it's"}},
		{"cmd-specials", Cmd, cmdSpecials, Options{Region: "a&b"}},
		{"process-quotes", Process, psHazards, Options{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkGolden(t, tt.name+".golden", render(t, tt.f, tt.c, tt.opt))
		})
	}
}

// counterDelimiter returns EOF1, EOF2, …: predictable for golden files.
func counterDelimiter() func() string {
	n := 0
	return func() string {
		n++
		return fmt.Sprintf("EOF%d", n)
	}
}

func TestGoldenGitHubFiles(t *testing.T) {
	opt := Options{Region: "eu-central-1"}
	var env, out bytes.Buffer
	if err := GitHubEnvFile(&env, EnvVars(testCreds(), opt), counterDelimiter()); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "github-env.golden", env.Bytes())
	if err := GitHubEnvFile(&out, GitHubOutputs(testCreds(), opt), counterDelimiter()); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "github-output.golden", out.Bytes())
}

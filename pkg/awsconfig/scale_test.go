package awsconfig

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// bigConfig writes a config file of n role profiles.
func bigConfig(tb testing.TB, n int) Files {
	tb.Helper()
	var b strings.Builder
	b.WriteString("[DEFAULT]\nregion = eu-west-1\n")
	for i := range n {
		fmt.Fprintf(&b, "[profile p%d]\nrole_arn = arn:aws:iam::123456789012:role/r%d\nsource_profile = base\n", i, i)
	}
	dir := tb.TempDir()
	f := Files{Config: filepath.Join(dir, "config"), Credentials: filepath.Join(dir, "credentials")}
	if err := os.WriteFile(f.Config, []byte(b.String()), 0o600); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(f.Credentials, []byte("[base]\naws_access_key_id = AKIABASE000000000001\naws_secret_access_key = s\n"), 0o600); err != nil {
		tb.Fatal(err)
	}
	return f
}

// BenchmarkLoad100kProfiles: loading stays linear in the number of
// profiles (every section once scanned every section for [DEFAULT]: 40 s at
// 100,000 profiles on a cache hit). Compare with BenchmarkLoad10kProfiles:
// the ratio should be about 10.
func BenchmarkLoad100kProfiles(b *testing.B) { benchmarkLoad(b, 100_000) }

// BenchmarkLoad10kProfiles is the baseline of BenchmarkLoad100kProfiles.
func BenchmarkLoad10kProfiles(b *testing.B) { benchmarkLoad(b, 10_000) }

func benchmarkLoad(b *testing.B, n int) {
	f := bigConfig(b, n)
	b.ResetTimer()
	for range b.N {
		c, err := Load(f)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Chain(fmt.Sprintf("p%d", n/2)); err != nil {
			b.Fatal(err)
		}
	}
}

// TestLoadIsLinear: a file of 20,000 profiles loads and resolves; with the
// quadratic scan this took minutes, now well under a second (the timing is
// the benchmark's to measure, not this test's).
func TestLoadIsLinear(t *testing.T) {
	f := bigConfig(t, 20_000)
	c, err := Load(f)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := c.Chain("p19999")
	if err != nil || len(ch.Roles) != 1 || ch.Source.Profile != "base" {
		t.Fatalf("chain %+v, %v", ch, err)
	}
	if p, _ := c.Profile("p1"); p.Region != "eu-west-1" {
		t.Fatalf("region %q, want [DEFAULT]'s", p.Region)
	}
}

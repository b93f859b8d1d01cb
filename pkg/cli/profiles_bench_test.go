package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rolecall/rolecall/pkg/awsconfig"
	"github.com/rolecall/rolecall/pkg/ststest"
)

// profilesFixture is a home with an AWS config of n profiles (IAM user
// keys, role profiles from them and chained from each other, IAM
// Identity Center profiles, credential_process profiles) and a cache
// holding the credentials of `cached` of the role profiles.
type profilesFixture struct {
	env   map[string]string
	home  string
	roles []string // the role profiles, in file order
}

func (f *profilesFixture) io(out io.Writer) *IO {
	return &IO{In: strings.NewReader(""), Out: out, ErrOut: io.Discard, Now: time.Now, HomeDir: f.home,
		Getenv: func(k string) string { return f.env[k] }}
}

// newProfilesFixture starts an emulator that knows each role profile's
// own role (so that each is cached on its own) and returns the fixture
// and the emulator, which the caller closes.
func newProfilesFixture(tb testing.TB, n, cached int) (*profilesFixture, *ststest.Server) {
	tb.Helper()
	conf := ststest.DemoConfig()
	for i := range n {
		if i%10 < 6 {
			trust := ststest.DemoUserARN
			if i%10 == 1 {
				trust = ststest.DemoRoleARN(fmt.Sprintf("team%04d", i-1))
			}
			conf.Roles = append(conf.Roles, ststest.Role{ARN: ststest.DemoRoleARN(fmt.Sprintf("team%04d", i)), Trust: ststest.Trust{Principals: []string{trust}}})
		}
	}
	srv := ststest.NewServer(conf)
	dir := tb.TempDir()
	f := &profilesFixture{home: filepath.Join(dir, "home")}
	if err := os.MkdirAll(filepath.Join(f.home, ".aws"), 0o700); err != nil {
		tb.Fatal(err)
	}
	var cfg strings.Builder
	cfg.WriteString("[sso-session corp]\nsso_start_url = " + ststest.DemoSSOStartURL + "\nsso_region = " + ststest.DemoSSORegion + "\n\n")
	for i := range n {
		switch {
		case i%10 < 6: // role profiles; every sixth chains from the one before
			name := fmt.Sprintf("team%04d-deploy", i)
			src := "base"
			if i%10 == 1 {
				src = f.roles[len(f.roles)-1]
			}
			fmt.Fprintf(&cfg, "[profile %s]\nrole_arn = %s\nsource_profile = %s\nregion = eu-west-1\n\n", name, ststest.DemoRoleARN(fmt.Sprintf("team%04d", i)), src)
			f.roles = append(f.roles, name)
		case i%10 < 9:
			fmt.Fprintf(&cfg, "[profile sso%04d/ReadOnlyAccess]\nsso_session = corp\nsso_account_id = %012d\nsso_role_name = ReadOnlyAccess\n\n", i, i)
		default:
			fmt.Fprintf(&cfg, "[profile tool%04d]\ncredential_process = /bin/false\n\n", i)
		}
	}
	creds := "[base]\naws_access_key_id = " + ststest.DemoAccessKeyID + "\naws_secret_access_key = " + ststest.DemoSecretAccessKey + "\n"
	write := func(name, data string) {
		if err := os.WriteFile(filepath.Join(f.home, ".aws", name), []byte(data), 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	write("config", cfg.String())
	write("credentials", creds)
	f.env = map[string]string{
		"HOME":                        f.home,
		"USER":                        "bench",
		"AWS_CONFIG_FILE":             filepath.Join(f.home, ".aws", "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(f.home, ".aws", "credentials"),
		"ROLECALL_CACHE_DIR":          filepath.Join(dir, "cache"),
		"AWS_ENDPOINT_URL_STS":        srv.URL(),
		"AWS_EC2_METADATA_DISABLED":   "true",
	}
	for _, name := range f.roles[:min(cached, len(f.roles))] {
		if code := Run(context.Background(), f.io(io.Discard), []string{"process", name}); code != 0 {
			tb.Fatalf("warming %s exited %d", name, code)
		}
	}
	return f, srv
}

var profilesBenchN = 10000

// BenchmarkProfiles10000 is `rolecall profiles` over 10,000 profiles, 100
// of them with cached credentials. Its metric x-load is the time against
// the floor measured in the same run: reading and parsing the same files
// (awsconfig.Load), which every command that takes a profile pays.
func BenchmarkProfiles10000(b *testing.B) {
	f, srv := newProfilesFixture(b, profilesBenchN, 100)
	defer srv.Close()
	files := awsconfig.DefaultFiles(func(k string) string { return f.env[k] }, f.home)
	// The floor, measured here rather than with testing.Benchmark, which
	// cannot run inside a benchmark.
	const floorRuns = 5
	start := time.Now()
	for range floorRuns {
		if _, err := awsconfig.Load(files); err != nil {
			b.Fatal(err)
		}
	}
	floorNs := float64(time.Since(start)) / floorRuns
	var out strings.Builder
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		out.Reset()
		if code := Run(context.Background(), f.io(&out), []string{"profiles"}); code != 0 {
			b.Fatalf("exited %d", code)
		}
	}
	b.StopTimer()
	if rows := strings.Count(out.String(), "\n"); rows != profilesBenchN+2 {
		b.Fatalf("%d lines, want a header and %d rows", rows, profilesBenchN+1)
	}
	b.ReportMetric(float64(b.Elapsed())/float64(b.N)/floorNs, "x-load")
	b.ReportMetric(floorNs/1e6, "load-ms")
}

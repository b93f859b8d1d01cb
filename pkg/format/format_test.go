package format

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rolecall/rolecall/pkg/creds"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want Format
	}{
		{"env", Env}, {"sh", Env}, {"bash", Env}, {"zsh", Env}, {"BASH", Env}, {" env ", Env},
		{"fish", Fish},
		{"powershell", PowerShell}, {"pwsh", PowerShell}, {"PowerShell", PowerShell},
		{"cmd", Cmd}, {"dotenv", Dotenv}, {"json", JSON}, {"process", Process}, {"ini", INI}, {"github", GitHub},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in)
			if err != nil || got != tt.want {
				t.Errorf("Parse(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestParseUnknownListsValidNames(t *testing.T) {
	for _, in := range []string{"", "yaml", "csh", "powershel"} {
		t.Run(in, func(t *testing.T) {
			_, err := Parse(in)
			if err == nil {
				t.Fatalf("Parse(%q) succeeded", in)
			}
			for _, name := range append(Names(), "sh", "bash", "zsh", "pwsh") {
				if !strings.Contains(err.Error(), name) {
					t.Errorf("error %q does not name %s", err, name)
				}
			}
		})
	}
}

func TestNamesParseToThemselves(t *testing.T) {
	want := []string{"env", "fish", "powershell", "cmd", "dotenv", "json", "process", "ini", "github"}
	if got := Names(); !slices.Equal(got, want) {
		t.Fatalf("Names() = %v, want %v", got, want)
	}
	for _, n := range Names() {
		if f, err := Parse(n); err != nil || string(f) != n {
			t.Errorf("Parse(%q) = %q, %v", n, f, err)
		}
	}
}

func TestIsShell(t *testing.T) {
	shells := map[Format]bool{Env: true, Fish: true, PowerShell: true, Cmd: true}
	for _, n := range Names() {
		f := Format(n)
		if got := f.IsShell(); got != shells[f] {
			t.Errorf("%s.IsShell() = %v, want %v", f, got, shells[f])
		}
	}
}

func TestEnvVars(t *testing.T) {
	tests := []struct {
		name string
		c    creds.Credentials
		opt  Options
		want []Var
	}{
		{
			name: "temporary credentials with region",
			c:    testCreds(),
			opt:  Options{Region: "eu-central-1"},
			want: []Var{
				{"AWS_ACCESS_KEY_ID", "ASIAIOSFODNN7EXAMPLE"},
				{"AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"},
				{"AWS_SESSION_TOKEN", testCreds().SessionToken},
				{"AWS_CREDENTIAL_EXPIRATION", "2030-01-02T03:04:05Z"},
				{"AWS_REGION", "eu-central-1"},
				{"AWS_DEFAULT_REGION", "eu-central-1"},
			},
		},
		{
			name: "no region",
			c:    testCreds(),
			want: []Var{
				{"AWS_ACCESS_KEY_ID", "ASIAIOSFODNN7EXAMPLE"},
				{"AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"},
				{"AWS_SESSION_TOKEN", testCreds().SessionToken},
				{"AWS_CREDENTIAL_EXPIRATION", "2030-01-02T03:04:05Z"},
			},
		},
		{
			name: "long-term keys have no token or expiration",
			c:    longTermCreds(),
			opt:  Options{Region: "us-east-1"},
			want: []Var{
				{"AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE"},
				{"AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"},
				{"AWS_REGION", "us-east-1"},
				{"AWS_DEFAULT_REGION", "us-east-1"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := EnvVars(tt.c, tt.opt)
			if !slices.Equal(got, tt.want) {
				t.Errorf("EnvVars differ:\n got %v\nwant %v", names(got), names(tt.want))
			}
		})
	}
}

func TestEnvVarsExpirationIsUTC(t *testing.T) {
	c := testCreds()
	c.Expiration = c.Expiration.In(time.FixedZone("IST", 5*3600+1800))
	for _, v := range EnvVars(c, Options{}) {
		if v.Name == envExpiration && v.Value != "2030-01-02T03:04:05Z" {
			t.Errorf("AWS_CREDENTIAL_EXPIRATION = %q, want 2030-01-02T03:04:05Z", v.Value)
		}
	}
}

func TestConflictingEnvVars(t *testing.T) {
	got := ConflictingEnvVars()
	// Every source the SDK credential chains consult besides the key
	// variables, and the key variables' aliases.
	for _, name := range []string{
		"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SECURITY_TOKEN",
		"AWS_ACCESS_KEY", "AWS_SECRET_KEY",
		"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
		"AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
		"AWS_SESSION_TOKEN", "AWS_CREDENTIAL_EXPIRATION", "AWS_ACCOUNT_ID",
		// What other credential tools export beside the keys.
		"AWS_VAULT", "AWS_SESSION_EXPIRATION", "AWS_CREDENTIAL_FILE",
		"GRANTED_AWS_ROLE_PROFILE", "GRANTED_SSO", "GRANTED_SSO_START_URL", "GRANTED_SSO_ROLE_NAME",
		"GRANTED_SSO_REGION", "GRANTED_SSO_ACCOUNT_ID", "GRANTED_COMMAND",
		"AWSUME_PROFILE", "AWSUME_EXPIRATION",
		"AWS_SSO", "AWS_SSO_PROFILE", "AWS_SSO_ACCOUNT_ID", "AWS_SSO_ROLE_NAME", "AWS_SSO_ROLE_ARN",
		"AWS_SSO_SESSION_EXPIRATION", "AWS_SSO_DEFAULT_REGION",
		"AWSU_PROFILE", "AWSU_EXPIRES",
		"AWS_OKTA_PROFILE", "AWS_OKTA_ASSUMED_ROLE", "AWS_OKTA_ASSUMED_ROLE_ARN", "AWS_OKTA_SESSION_EXPIRATION",
		"SAML2AWS_PROFILE",
	} {
		if !slices.Contains(got, name) {
			t.Errorf("ConflictingEnvVars lacks %s", name)
		}
	}
	// Settings that are not credentials stay: the child still needs them.
	for _, name := range []string{"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CA_BUNDLE",
		"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS", "AWS_EC2_METADATA_DISABLED", "AWS_VAULT_BACKEND", "GRANTED_ALIAS_CONFIGURED"} {
		if slices.Contains(got, name) {
			t.Errorf("ConflictingEnvVars removes %s, which is not a credential source", name)
		}
	}
}

// TestConflictingEnvVarsUnique: a name listed twice is a sign of a list
// edited in two places.
func TestConflictingEnvVarsUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, name := range ConflictingEnvVars() {
		if seen[name] {
			t.Errorf("ConflictingEnvVars lists %s twice", name)
		}
		seen[name] = true
	}
}

func TestEvalHint(t *testing.T) {
	tests := []struct {
		f    Format
		cmd  string
		want string
	}{
		{Env, "rolecall assume demo", `eval "$(rolecall assume demo)"`},
		{Fish, "rolecall assume demo", "rolecall assume demo -f fish | source"},
		{PowerShell, "rolecall assume demo", "rolecall assume demo -f powershell | Invoke-Expression"},
		{Cmd, "rolecall assume demo", `for /f "delims=" %i in ('rolecall assume demo -f cmd') do @%i`},
		{Dotenv, "rolecall assume demo", "rolecall assume demo -f dotenv > .env"},
		{Fish, "rolecall assume demo -f fish", "rolecall assume demo -f fish | source"},
		{Fish, "rolecall assume --format=fish demo", "rolecall assume --format=fish demo | source"},
		{Env, "rolecall assume -fbash demo", `eval "$(rolecall assume -fbash demo)"`},
		{JSON, "rolecall assume demo", ""},
		{Process, "rolecall process demo", ""},
		{INI, "rolecall assume demo", ""},
		{GitHub, "rolecall assume demo", ""},
	}
	for _, tt := range tests {
		t.Run(string(tt.f)+"/"+tt.cmd, func(t *testing.T) {
			if got := EvalHint(tt.f, tt.cmd); got != tt.want {
				t.Errorf("EvalHint(%s, %q) = %q, want %q", tt.f, tt.cmd, got, tt.want)
			}
		})
	}
}

// failWriter fails the test if anything is written: an invalid value must
// be caught before the first byte.
type failWriter struct{ t *testing.T }

func (w failWriter) Write(p []byte) (int, error) {
	w.t.Errorf("wrote %d bytes although rendering failed", len(p))
	return len(p), nil
}

// countingWriter records how many Write calls it got.
type countingWriter struct {
	bytes.Buffer
	calls int
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.calls++
	return w.Buffer.Write(p)
}

func TestRenderWritesOnce(t *testing.T) {
	for _, n := range Names() {
		t.Run(n, func(t *testing.T) {
			var w countingWriter
			if err := Render(&w, Format(n), testCreds(), Options{Region: "eu-west-1", ProfileName: "default"}); err != nil {
				t.Fatal(err)
			}
			if w.calls != 1 || w.Len() == 0 {
				t.Errorf("Render made %d writes of %d bytes in all, want one non-empty write", w.calls, w.Len())
			}
		})
	}
}

func TestRenderReportsWriteError(t *testing.T) {
	err := Render(errWriter{}, Env, testCreds(), Options{})
	if !errors.Is(err, errDiskFull) {
		t.Errorf("Render = %v, want the writer's error", err)
	}
}

var errDiskFull = errors.New("disk full")

type errWriter struct{}

func (errWriter) Write([]byte) (int, error) { return 0, errDiskFull }

// TestRenderRefuses lists, per format, values it cannot carry. Each must
// fail with an UnrepresentableError that names the field and not the value,
// and write nothing.
func TestRenderRefuses(t *testing.T) {
	const marker = "SECRETMARKER"
	tests := []struct {
		f      Format
		name   string
		secret string // goes into SecretAccessKey
		opt    Options
	}{
		{Env, "NUL", marker + "\x00", Options{}},
		{Env, "invalid UTF-8", marker + "\xff", Options{}},
		{Fish, "NUL", marker + "\x00", Options{}},
		{Fish, "invalid UTF-8", marker + "\xc3", Options{}},
		{PowerShell, "NUL", marker + "\x00", Options{}},
		{PowerShell, "invalid UTF-8", marker + "\xed\xa0\x80", Options{}},
		{Cmd, "newline", marker + "\n", Options{}},
		{Cmd, "carriage return", marker + "\r", Options{}},
		{Cmd, "percent", marker + "%PATH%", Options{}},
		{Cmd, "bang", marker + "!x!", Options{}},
		{Cmd, "double quote", marker + `"`, Options{}},
		{Cmd, "non-ASCII", marker + "é", Options{}},
		{Cmd, "control character", marker + "\x1a", Options{}},
		{Cmd, "DEL", marker + "\x7f", Options{}},
		{Dotenv, "newline", marker + "\nX=1", Options{}},
		{Dotenv, "carriage return", marker + "\r", Options{}},
		{Dotenv, "tab", marker + "\tx", Options{}},
		{Dotenv, "hash", marker + " #x", Options{}},
		{Dotenv, "dollar", marker + "$HOME", Options{}},
		{Dotenv, "backslash", marker + `\n`, Options{}},
		{Dotenv, "single quote", "'" + marker + "'", Options{}},
		{Dotenv, "double quote", marker + `"`, Options{}},
		{Dotenv, "backtick", marker + "`", Options{}},
		{Dotenv, "leading space", " " + marker, Options{}},
		{Dotenv, "trailing no-break space", marker + "\u00a0", Options{}},
		{JSON, "NUL", marker + "\x00", Options{}},
		{JSON, "invalid UTF-8", marker + "\x80", Options{}},
		{Process, "NUL", marker + "\x00", Options{}},
		{Process, "invalid UTF-8", marker + "\x80", Options{}},
		{INI, "newline", marker + "\naws_session_token = x", Options{ProfileName: "default"}},
		{INI, "comment", marker + " ;x", Options{ProfileName: "default"}},
		{INI, "hash", marker + "#", Options{ProfileName: "default"}},
		{INI, "leading quote", `"` + marker + `"`, Options{ProfileName: "default"}},
		{INI, "trailing space", marker + " ", Options{ProfileName: "default"}},
		{INI, "control character first", "\x1b" + marker, Options{ProfileName: "default"}},
		{INI, "empty section name", marker, Options{}},
		{INI, "bracket in section name", marker, Options{ProfileName: "a]b"}},
		{INI, "newline in section name", marker, Options{ProfileName: "a\nb"}},
		{GitHub, "NUL", marker + "\x00", Options{}},
	}
	for _, tt := range tests {
		t.Run(string(tt.f)+"/"+tt.name, func(t *testing.T) {
			c := testCreds()
			c.SecretAccessKey = tt.secret
			err := Render(failWriter{t}, tt.f, c, tt.opt)
			if !isUnrepresentable(err, tt.f) {
				t.Fatalf("Render = %v, want an UnrepresentableError for %s", err, tt.f)
			}
			if strings.Contains(err.Error(), marker) {
				t.Errorf("error message contains the value: %v", err)
			}
		})
	}
}

// TestRenderRefusesHazardsInRegion: the region is checked like the
// credentials, not trusted.
func TestRenderRefusesHazardsInRegion(t *testing.T) {
	for _, f := range []Format{Cmd, Dotenv} {
		t.Run(string(f), func(t *testing.T) {
			err := Render(failWriter{t}, f, testCreds(), Options{Region: "us-east-1\nexport X=1"})
			if !isUnrepresentable(err, f) {
				t.Fatalf("Render = %v, want an UnrepresentableError", err)
			}
		})
	}
}

func TestRenderRefusesMissingKeys(t *testing.T) {
	for _, n := range Names() {
		for _, c := range []creds.Credentials{{SecretAccessKey: "s"}, {AccessKeyID: "AKIA"}} {
			t.Run(n, func(t *testing.T) {
				err := Render(failWriter{t}, Format(n), c, Options{ProfileName: "default"})
				if !errors.Is(err, errMissingKeys) {
					t.Errorf("Render = %v, want errMissingKeys", err)
				}
			})
		}
	}
}

func TestRenderUnknownFormat(t *testing.T) {
	err := Render(failWriter{t}, Format("yaml"), testCreds(), Options{})
	if err == nil || !strings.Contains(err.Error(), "unknown format") {
		t.Errorf("Render(yaml) = %v, want an unknown format error", err)
	}
}

func names(vars []Var) []string {
	out := make([]string, len(vars))
	for i, v := range vars {
		out[i] = v.Name
	}
	return out
}

package format

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

func testEndpoint() Endpoint {
	return Endpoint{
		URI:       "http://127.0.0.1:40123/role-arn/arn:aws:iam::123456789012:role/deploy",
		TokenFile: "/tmp/rolecall-serve-1/token",
		Region:    "eu-central-1",
	}
}

func TestEndpointVars(t *testing.T) {
	e := testEndpoint()
	want := []Var{
		{EnvContainerFullURI, e.URI},
		{EnvContainerTokenFile, e.TokenFile},
		{envRegion, "eu-central-1"}, {envDefaultRegion, "eu-central-1"},
	}
	if got := EndpointVars(e); !slices.Equal(got, want) {
		t.Errorf("EndpointVars = %v, want %v", got, want)
	}
	e.Token, e.Region = "abc", ""
	if got := EndpointVars(e); !slices.Equal(got, []Var{{EnvContainerFullURI, e.URI}, {EnvContainerTokenFile, e.TokenFile}, {EnvContainerToken, "abc"}}) {
		t.Errorf("with the token in the environment and its file: %v", got)
	}
	e.TokenFile = ""
	if got := EndpointVars(e); !slices.Equal(got, []Var{{EnvContainerFullURI, e.URI}, {EnvContainerToken, "abc"}}) {
		t.Errorf("with the token in the environment: %v", got)
	}
}

// TestShellsLoadEndpoint: in every real shell, the endpoint's exports
// replace credentials an earlier eval left and unset AWS_PROFILE, both of
// which the SDKs' chains would try before the endpoint.
func TestShellsLoadEndpoint(t *testing.T) {
	names := append(ConflictingEnvVars(), envRegion, envDefaultRegion)
	for _, sh := range shells {
		t.Run(sh.program, func(t *testing.T) {
			requireProgram(t, sh.program)
			before := render(t, sh.format, testCreds(), Options{})
			var profile string
			if sh.format == Fish {
				profile = "set -gx AWS_PROFILE base\n"
			} else {
				profile = "export AWS_PROFILE=base\n"
			}
			var out bytes.Buffer
			if err := RenderEndpoint(&out, sh.format, testEndpoint()); err != nil {
				t.Fatal(err)
			}
			got := evalNamesInShell(t, sh, append(append(before, profile...), out.Bytes()...), names)
			want := map[string]string{}
			for _, v := range EndpointVars(testEndpoint()) {
				want[v.Name] = v.Value
			}
			if !mapsEqual(got, want) {
				t.Errorf("the shell has %v, want %v", got, want)
			}
		})
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestRenderEndpointFormats(t *testing.T) {
	e := testEndpoint()
	e.Token = strings.Repeat("ab", 32)
	for _, f := range []Format{PowerShell, Cmd, Dotenv} {
		var out bytes.Buffer
		if err := RenderEndpoint(&out, f, e); err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		for _, v := range EndpointVars(e) {
			if !strings.Contains(out.String(), v.Name) || !strings.Contains(out.String(), v.Value) {
				t.Errorf("%s output lacks %s:\n%s", f, v.Name, out.String())
			}
		}
		if f == Dotenv && strings.Contains(out.String(), "AWS_PROFILE") {
			t.Errorf("dotenv cannot unset; it names AWS_PROFILE:\n%s", out.String())
		}
	}
	for _, f := range []Format{JSON, Process, INI, GitHub} {
		if err := RenderEndpoint(&bytes.Buffer{}, f, e); err == nil {
			t.Errorf("%s rendered an endpoint", f)
		}
	}
	e.URI = "http://127.0.0.1:1/\x00"
	var out bytes.Buffer
	if err := RenderEndpoint(&out, Env, e); err == nil || out.Len() > 0 {
		t.Errorf("a NUL was rendered: %v %q", err, out.String())
	}
}

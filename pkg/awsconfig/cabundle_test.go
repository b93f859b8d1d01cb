package awsconfig

import (
	"strings"
	"testing"
)

func TestProfileCABundle(t *testing.T) {
	tests := []struct {
		name, config, credentials, want string
	}{
		{"absolute path", "[profile p]\nca_bundle = /etc/corp/proxy-ca.pem\n", "", "/etc/corp/proxy-ca.pem"},
		// botocore 1.43 and the AWS CLI v2 pass "~/x.pem" to OpenSSL as is,
		// which then finds no such file; rolecall must not find one either.
		{"tilde kept as written", "[profile p]\nca_bundle = ~/corp/ca.pem\n", "", "~/corp/ca.pem"},
		{"variables kept as written", "[profile p]\nca_bundle = $HOME/ca.pem\n", "", "$HOME/ca.pem"},
		{"spaces kept", "[profile p]\nca_bundle = /Users/me/My Certs/ca.pem\n", "", "/Users/me/My Certs/ca.pem"},
		{"from the credentials file", "", "[p]\nca_bundle = /creds/ca.pem\n", "/creds/ca.pem"},
		{"credentials file wins", "[profile p]\nca_bundle = /config/ca.pem\n", "[p]\nca_bundle = /creds/ca.pem\n", "/creds/ca.pem"},
		{"unset", "[profile p]\nregion = eu-west-1\n", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := mustLoad(t, writeFiles(t, tt.config, tt.credentials)).Profile("p")
			if err != nil {
				t.Fatal(err)
			}
			if p.CABundle != tt.want {
				t.Errorf("CABundle = %q, want %q", p.CABundle, tt.want)
			}
		})
	}
}

func TestProfileCABundleOnSeveralLines(t *testing.T) {
	_, err := mustLoad(t, writeFiles(t, "[profile p]\nca_bundle = /etc/a.pem\n  /etc/b.pem\n", "")).Profile("p")
	if err == nil || !strings.Contains(err.Error(), "ca_bundle continues on an indented line") {
		t.Errorf("error = %v, want one about the continued line", err)
	}
}

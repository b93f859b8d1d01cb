package awsconfig

// This file derives, for the consumers of a credential endpoint, AWS files
// in which the default profile holds no credentials. Every SDK tries the
// shared files before the container endpoint (aws-sdk-go-v2
// config/resolve_credentials.go resolveCredentialChain; botocore
// credentials.py create_credential_resolver; the JavaScript SDK's
// defaultProvider: env, sso, ini, process, tokenFile, remote), so a
// [default] with keys, credential_process, role_arn, SSO or web identity
// settings would be used instead of the role the endpoint serves.

import (
	"fmt"
	"path/filepath"
	"slices"

	"github.com/rolecall/rolecall/pkg/safefile"
)

// CredentialKeys are the keys by which a profile gets credentials in some
// SDK: static keys (and the account they name), the role settings, SSO,
// web identity, credential_process and the AWS CLI's console sign-in.
// Settings that are not credentials (region, endpoints, s3, retries) are
// left alone.
var CredentialKeys = []string{
	"aws_access_key_id", "aws_secret_access_key", "aws_session_token", "aws_security_token",
	"aws_account_id",
	"role_arn", "source_profile", "credential_source", "web_identity_token_file",
	"credential_process",
	"sso_session", "sso_account_id", "sso_role_name", "sso_start_url", "sso_region",
	"login_session",
}

// Isolated names the files to hand a consumer instead of the user's: a path
// is empty when the user's file can be used as it is (no credentials in its
// default profile, or no file at all).
type Isolated struct {
	Config, Credentials string
}

// WriteIsolated writes into dir (a private directory the caller owns and
// removes) a copy of each of f's files that gives the default profile
// credentials, with those keys removed from the sections the default
// profile reads: [default] and [profile default] in the config file,
// [default] in the credentials file, and [DEFAULT] in both (configparser
// gives its keys to every section). Every other line, comment and section
// stays as it is, so region, services, s3 settings, sso-session sections and
// other profiles keep working. A file that cannot be read or parsed is an
// error naming it: the endpoint must not start when it cannot tell what a
// consumer would read.
func WriteIsolated(dir string, f Files) (Isolated, error) {
	var out Isolated
	for _, file := range []struct {
		path     string
		isConfig bool
		dst      *string
		name     string
	}{
		{f.Config, true, &out.Config, "config"},
		{f.Credentials, false, &out.Credentials, "credentials"},
	} {
		data, changed, err := withoutDefaultCredentials(file.path, file.isConfig)
		if err != nil || !changed {
			if err != nil {
				return Isolated{}, err
			}
			continue
		}
		path := filepath.Join(dir, file.name)
		if err := safefile.Replace(path, data); err != nil {
			return Isolated{}, err
		}
		*file.dst = path
	}
	return out, nil
}

// withoutDefaultCredentials returns the file at path without the credential
// keys of the default profile's sections, and whether anything was removed.
func withoutDefaultCredentials(path string, isConfig bool) ([]byte, bool, error) {
	doc, err := loadDoc(path)
	if err != nil || doc == nil {
		return nil, false, err
	}
	drop := map[int]bool{}
	for _, s := range doc.sections {
		if !readByDefaultProfile(s.name, isConfig) {
			continue
		}
		for _, o := range s.opts {
			if slices.Contains(CredentialKeys, o.name) {
				for i := o.first; i <= o.last; i++ {
					drop[i] = true
				}
			}
		}
	}
	if len(drop) == 0 {
		return nil, false, nil
	}
	kept := make([]rawLine, 0, len(doc.lines)-len(drop))
	for i, l := range doc.lines {
		if !drop[i] {
			kept = append(kept, l)
		}
	}
	out := join(kept)
	if err := checkNoDefaultCredentials(path, out, isConfig); err != nil {
		return nil, false, err
	}
	return out, true, nil
}

// readByDefaultProfile reports whether the default profile takes keys from
// a section of that name.
func readByDefaultProfile(section string, isConfig bool) bool {
	if section == defaultSection || section == "default" {
		return true
	}
	if !isConfig {
		return false
	}
	name, ok := configProfileName(section)
	return ok && name == "default"
}

// checkNoDefaultCredentials parses the derived file again, as a consumer
// would, and refuses it if the default profile still has a credential key
// (a line the splice could not take out whole): the error names the
// file, the line and the key, never the value.
func checkNoDefaultCredentials(path string, data []byte, isConfig bool) error {
	doc, err := parseDocument(path, data)
	if err != nil {
		return fmt.Errorf("%s: removing the default profile's credentials leaves a file the AWS CLI cannot read: %w", path, err)
	}
	for _, s := range doc.sections {
		if !readByDefaultProfile(s.name, isConfig) {
			continue
		}
		for _, o := range s.opts {
			if slices.Contains(CredentialKeys, o.name) {
				return fmt.Errorf("%s line %d: %s in [%s] cannot be hidden from the command's SDKs, which would use it instead of the endpoint", path, o.first+1, o.name, s.name)
			}
		}
	}
	return nil
}

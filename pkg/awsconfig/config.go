// Package awsconfig reads the AWS shared config and credentials files the way
// the AWS CLI does, resolves a profile into a chain of roles to assume, and
// edits the files in place without disturbing anything it was not asked to
// change.
//
// It makes no STS call and loads no SDK: the caller turns a Chain into STS
// calls. Paths, environment and home directory come from the caller.
package awsconfig

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/rolecall/rolecall/pkg/creds"
	"github.com/rolecall/rolecall/pkg/safefile"
	"github.com/rolecall/rolecall/pkg/suggest"
)

// Config is the merged view of both files, as botocore's Session.full_config
// builds it: profiles from the config file, then the credentials file's
// sections, whose keys win over the config file's for the same profile.
type Config struct {
	files    Files
	profiles map[string]*profileData
	services map[string]map[string]located // [services NAME] sections of the config file
	// ssoSessions are the [sso-session NAME] sections of the config file.
	ssoSessions map[string]map[string]located
}

// profileData is one profile's keys, each with the file and line it came
// from, for messages that say where to look.
type profileData struct {
	name string
	keys map[string]located
	// where names the section(s) the profile was read from.
	where []string
}

// AutoLoginKey turns sign-in on demand on for a profile or an
// [sso-session] section (see Profile.AutoLogin).
const AutoLoginKey = "rolecall_auto_login"

// Profile is one profile's settings that rolecall uses.
type Profile struct {
	Name, RoleARN, SourceProfile, CredentialSource, MFASerial, ExternalID, RoleSessionName, Region string
	// DurationSeconds is duration_seconds; 0 when unset.
	DurationSeconds int
	// STSEndpointURL is endpoint_url of the "sts" entry of the profile's
	// [services NAME] section, else the profile's endpoint_url; empty when
	// ignore_configured_endpoint_urls is true.
	STSEndpointURL       string
	STSRegionalEndpoints string
	WebIdentityTokenFile string
	CredentialProcess    string
	// CABundle is ca_bundle, the path of a PEM file of CAs to trust instead
	// of the system's, exactly as written: botocore reads it with no
	// conversion (configprovider.py: 'ca_bundle': ('ca_bundle',
	// 'AWS_CA_BUNDLE', None, None)) and hands it to OpenSSL, and the Go SDK
	// to os.ReadFile, so neither expands "~" or "$VAR" in it.
	// AWS_CA_BUNDLE and --ca-bundle override it (the caller's part).
	CABundle string
	// SSO is set when any sso_* key or sso_session is present: IAM Identity
	// Center supplies the credentials.
	SSO bool
	// SSOSession names the [sso-session NAME] section; SSOStartURL and
	// SSORegion come from it when it is set, else from the profile's own
	// legacy sso_start_url and sso_region.
	SSOSession, SSOStartURL, SSORegion, SSOAccountID, SSORoleName string
	// Keychain is set for a profile whose long-term keys rolecall keeps in
	// a secret store (rolecall keys add): nil otherwise.
	Keychain *Keychain
	// AutoLogin is rolecall_auto_login = true on the profile or its
	// [sso-session]: a missing or expired sign-in starts one, as
	// --auto-login does. (Other tools ignore keys they do not know.)
	AutoLogin bool
	// StaticKeys holds aws_access_key_id, aws_secret_access_key and
	// aws_session_token; nil when neither key is set.
	StaticKeys *creds.Credentials

	// where says where the profile was read from (file and line).
	where      string
	keys       map[string]located
	ssoSession map[string]located
}

// KeyWhere names the file and line a key was read from ("" when unset), for
// messages about a bad value.
func (p Profile) KeyWhere(key string) string {
	l, ok := p.keys[key]
	if !ok {
		return ""
	}
	return fmt.Sprintf("%s line %d", l.file, l.line)
}

// secretKeys are left out of Fingerprint: a fingerprint names a profile's
// definition, not its secrets.
var secretKeys = map[string]bool{"aws_secret_access_key": true, "aws_session_token": true}

// Fingerprint is a digest of the profile's whole definition (every key and
// value but secrets, and its sso-session section): two profiles, or one
// profile before and after an edit, share a fingerprint only when they
// define the same credentials source. The cache keys a source it cannot
// name by an access key ID (credential_process, SSO) by it.
func (p Profile) Fingerprint() string {
	h := sha256.New()
	write := func(prefix string, keys map[string]located) {
		names := make([]string, 0, len(keys))
		for k := range keys {
			if !secretKeys[k] {
				names = append(names, k)
			}
		}
		sort.Strings(names)
		for _, k := range names {
			fmt.Fprintf(h, "%s%d:%s=%d:%s\n", prefix, len(k), k, len(keys[k].value), keys[k].value)
		}
	}
	write("", p.keys)
	write("sso-session.", p.ssoSession)
	return hex.EncodeToString(h.Sum(nil))
}

// Where names the file(s) and line(s) the profile was read from, for
// messages.
func (p Profile) Where() string { return p.where }

// Load reads both files. A missing file is empty; a file that cannot be read
// (or is a directory) or that the AWS CLI could not parse is an error that
// names the file and, where there is one, the line.
func Load(f Files) (*Config, error) {
	c := &Config{files: f, profiles: map[string]*profileData{}, services: map[string]map[string]located{}, ssoSessions: map[string]map[string]located{}}
	cfgDoc, err := loadDoc(f.Config)
	if err != nil {
		return nil, err
	}
	credDoc, err := loadDoc(f.Credentials)
	if err != nil {
		return nil, err
	}
	if cfgDoc != nil {
		c.addConfigFile(f.Config, cfgDoc)
	}
	if credDoc != nil {
		c.addCredentialsFile(f.Credentials, credDoc)
	}
	return c, nil
}

// loadDoc reads and parses one file strictly; nil for a missing file.
func loadDoc(path string) (*document, error) {
	if path == "" {
		return nil, nil
	}
	data, err := readAWSFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	doc, err := parseDocument(path, data)
	if err != nil {
		return nil, err
	}
	if err := doc.firstIssue(path); err != nil {
		return nil, err
	}
	return doc, nil
}

// maxFileSize bounds what rolecall reads of a config or credentials file.
// Real ones are kilobytes; a path that names /dev/zero, a FIFO or a huge
// file by mistake must fail with a message, not eat memory or hang.
const maxFileSize = 16 << 20

// readAWSFile reads an AWS file that must be a regular file of at most
// maxFileSize bytes. It may be a symlink (dotfiles repositories), but what
// it names is opened without blocking and checked with fstat before a byte
// is read: a FIFO there would otherwise hang the open. A character device
// that reads empty (AWS_CONFIG_FILE=/dev/null) is an empty file, as for
// the AWS CLI.
func readAWSFile(path string) ([]byte, error) {
	data, err := safefile.ReadFile(path, safefile.ReadOptions{MaxSize: maxFileSize, EmptyDevice: true})
	if errors.Is(err, safefile.ErrTooLarge) {
		return nil, fmt.Errorf("larger than %d MiB, too large for an AWS config file", maxFileSize>>20)
	}
	return data, err
}

// configProfileName maps a config file section to the profile it defines,
// as botocore's build_profile_map does: "[profile NAME]" (NAME split by
// shlex, so it may be quoted) and "[default]". Other sections are no
// profiles.
func configProfileName(section string) (string, bool) {
	if strings.HasPrefix(section, "profile") {
		parts, ok := shlexSplit(section)
		if ok && len(parts) == 2 {
			return parts[1], true
		}
		return "", false
	}
	return "default", section == "default"
}

func sectionWhere(path string, s *section) string {
	return fmt.Sprintf("%s line %d", path, s.header+1)
}

func (c *Config) addConfigFile(path string, doc *document) {
	for _, s := range doc.sections {
		if s.name == defaultSection {
			continue
		}
		keys := doc.effective(s)
		for k, v := range keys {
			v.file = path
			keys[k] = v
		}
		if name, ok := configProfileName(s.name); ok {
			// A later section for the same profile replaces an earlier one
			// whole ([default] and [profile default], say), as the dict
			// assignment in build_profile_map does.
			c.profiles[name] = &profileData{name: name, keys: keys, where: []string{sectionWhere(path, s)}}
			continue
		}
		if parts, ok := shlexSplit(s.name); ok && len(parts) == 2 {
			switch parts[0] {
			case "services":
				c.services[parts[1]] = keys
			case "sso-session":
				c.ssoSessions[parts[1]] = keys
			}
		}
	}
}

// addCredentialsFile merges the credentials file: every section is a profile
// named exactly as written, and its keys update the config file's
// (botocore Session.full_config: profiles[name].update(cred_vars)).
func (c *Config) addCredentialsFile(path string, doc *document) {
	for _, s := range doc.sections {
		if s.name == defaultSection {
			continue
		}
		keys := doc.effective(s)
		p := c.profiles[s.name]
		if p == nil {
			p = &profileData{name: s.name, keys: map[string]located{}}
			c.profiles[s.name] = p
		}
		for k, v := range keys {
			v.file = path
			p.keys[k] = v
		}
		p.where = append(p.where, sectionWhere(path, s))
	}
}

// ProfileNames lists every profile of both files, sorted.
func (c *Config) ProfileNames() []string {
	names := make([]string, 0, len(c.profiles))
	for n := range c.profiles {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// HasProfile reports whether either file defines the profile.
func (c *Config) HasProfile(name string) bool {
	_, ok := c.profiles[name]
	return ok
}

// Files returns the files the config was loaded from.
func (c *Config) Files() Files { return c.files }

// Profile returns a profile's settings. A profile that does not exist is an
// error that suggests close names; a value rolecall cannot use (a
// duration_seconds that is no number, a key spanning several lines) is an
// error that names the file and line.
func (c *Config) Profile(name string) (Profile, error) {
	pd, ok := c.profiles[name]
	if !ok {
		return Profile{}, c.notFound(name)
	}
	p := Profile{Name: name, where: strings.Join(pd.where, " and "), keys: pd.keys}
	scalars := []struct {
		key string
		dst *string
	}{
		{"role_arn", &p.RoleARN},
		{"source_profile", &p.SourceProfile},
		{"credential_source", &p.CredentialSource},
		{"mfa_serial", &p.MFASerial},
		{"external_id", &p.ExternalID},
		{"role_session_name", &p.RoleSessionName},
		{"region", &p.Region},
		{"sts_regional_endpoints", &p.STSRegionalEndpoints},
		{"web_identity_token_file", &p.WebIdentityTokenFile},
		{"credential_process", &p.CredentialProcess},
		{"sso_session", &p.SSOSession},
		{"sso_start_url", &p.SSOStartURL},
		{"sso_region", &p.SSORegion},
		{"sso_account_id", &p.SSOAccountID},
		{"sso_role_name", &p.SSORoleName},
		{"ca_bundle", &p.CABundle},
	}
	var kc Keychain
	scalars = append(scalars, []struct {
		key string
		dst *string
	}{
		{KeyringBackendKey, &kc.Backend},
		{KeychainKeyIDKey, &kc.AccessKeyID},
		{KeyringPassphraseCommandKey, &kc.PassphraseCommand},
	}...)
	for _, s := range scalars {
		v, err := pd.scalar(s.key)
		if err != nil {
			return Profile{}, err
		}
		*s.dst = v
	}
	if v, err := pd.scalar("duration_seconds"); err != nil {
		return Profile{}, err
	} else if v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			l := pd.keys["duration_seconds"]
			return Profile{}, fmt.Errorf("profile %q (%s line %d): duration_seconds must be a whole number of seconds such as 3600", name, l.file, l.line)
		}
		p.DurationSeconds = n
	}
	for k := range pd.keys {
		if strings.HasPrefix(k, "sso_") {
			p.SSO = true
		}
	}
	if p.SSOSession != "" {
		sess, ok := c.ssoSessions[p.SSOSession]
		if !ok {
			l := pd.keys["sso_session"]
			return Profile{}, fmt.Errorf("profile %q (%s line %d): sso_session %q has no [sso-session %s] section in %s; add it or fix sso_session",
				name, l.file, l.line, p.SSOSession, p.SSOSession, c.files.Config)
		}
		p.SSOStartURL, p.SSORegion = sess["sso_start_url"].value, sess["sso_region"].value
		p.ssoSession = sess
		p.AutoLogin = strings.EqualFold(strings.TrimSpace(sess[AutoLoginKey].value), "true")
	}
	if v, err := pd.scalar(AutoLoginKey); err != nil {
		return Profile{}, err
	} else if v != "" {
		p.AutoLogin = strings.EqualFold(v, "true")
	}
	if err := c.setEndpoint(pd, &p); err != nil {
		return Profile{}, err
	}
	if kc.Backend != "" || kc.AccessKeyID != "" {
		if kc.Backend == "" || kc.AccessKeyID == "" {
			return Profile{}, fmt.Errorf("profile %q (%s): %s and %s go together (rolecall keys add writes both); run rolecall keys add %s again",
				name, p.where, KeyringBackendKey, KeychainKeyIDKey, name)
		}
		p.Keychain = &kc
	}
	id, idSet := pd.keys["aws_access_key_id"]
	secret, secretSet := pd.keys["aws_secret_access_key"]
	if idSet || secretSet {
		token := pd.keys["aws_session_token"]
		p.StaticKeys = &creds.Credentials{AccessKeyID: id.value, SecretAccessKey: secret.value, SessionToken: token.value}
	}
	return p, nil
}

// scalar returns a one-line value; a value continued on indented lines
// would reach STS with line breaks in it, so it is an error.
func (pd *profileData) scalar(key string) (string, error) {
	v, ok := pd.keys[key]
	if !ok {
		return "", nil
	}
	if strings.Contains(v.value, "\n") {
		return "", fmt.Errorf("profile %q (%s line %d): %s continues on an indented line; put the whole value on one line", pd.name, v.file, v.line, key)
	}
	return v.value, nil
}

// setEndpoint resolves the STS endpoint the way the SDKs' service-specific
// endpoint configuration does: the "sts" entry of the profile's services
// section, else the profile's global endpoint_url, unless
// ignore_configured_endpoint_urls is true.
func (c *Config) setEndpoint(pd *profileData, p *Profile) error {
	ignore, err := pd.scalar("ignore_configured_endpoint_urls")
	if err != nil {
		return err
	}
	if strings.EqualFold(ignore, "true") {
		return nil
	}
	if svcName, err := pd.scalar("services"); err != nil {
		return err
	} else if svcName != "" {
		if sts, ok := c.services[svcName]["sts"]; ok {
			nested, _ := parseNested(sts.value)
			if u := nested["endpoint_url"]; u != "" {
				p.STSEndpointURL = u
				return nil
			}
		}
	}
	u, err := pd.scalar("endpoint_url")
	p.STSEndpointURL = u
	return err
}

// notFound reports a missing profile with the names closest to it.
func (c *Config) notFound(name string) error {
	where := c.files.Config + " or " + c.files.Credentials
	near := closeNames(name, c.ProfileNames())
	if len(near) == 0 {
		return fmt.Errorf("profile %q not found in %s", name, where)
	}
	return fmt.Errorf("profile %q not found in %s; did you mean %s?", name, where, strings.Join(quoteAll(near), " or "))
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strconv.Quote(s)
	}
	return out
}

// closeNames returns up to three names within a small edit distance of
// name, nearest first, or that differ only in case or contain it.
func closeNames(name string, names []string) []string {
	type cand struct {
		name string
		d    int
	}
	var cands []cand
	limit := max(2, len(name)/3)
	for _, n := range names {
		d := suggest.EditDistance(strings.ToLower(name), strings.ToLower(n))
		if d <= limit || (len(name) >= 3 && strings.Contains(strings.ToLower(n), strings.ToLower(name))) {
			cands = append(cands, cand{n, d})
		}
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].d < cands[j].d })
	var out []string
	for i := 0; i < len(cands) && i < 3; i++ {
		out = append(out, cands[i].name)
	}
	return out
}

// Keys of a profile whose long-term keys are in a secret store.
const (
	// KeyringBackendKey names the store (keyring.Backend*).
	KeyringBackendKey = "x_rolecall_keyring"
	// KeychainKeyIDKey is the access key ID of the stored key: not secret,
	// and what a cache hit needs without opening the store.
	KeychainKeyIDKey = "x_rolecall_access_key_id"
	// KeyringPassphraseCommandKey names a command that prints the file
	// backend's passphrase.
	KeyringPassphraseCommandKey = "x_rolecall_keyring_passphrase_command" //nolint:gosec // a config key's name, no credential
)

// Keychain says where a profile's long-term keys are kept.
type Keychain struct {
	Backend           string
	AccessKeyID       string
	PassphraseCommand string
}

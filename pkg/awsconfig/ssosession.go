package awsconfig

import (
	"fmt"
	"sort"
	"strings"
)

// SSOSession is an [sso-session NAME] section of the config file: an IAM
// Identity Center instance and how to sign in to it.
type SSOSession struct {
	Name, StartURL, Region string
	// RegistrationScopes is sso_registration_scopes split at commas, blanks
	// dropped (the AWS CLI's parse_sso_registration_scopes); nil when unset.
	RegistrationScopes []string
	// Where names the file and line of the section's first key.
	Where string
}

// SSOSession returns the [sso-session NAME] section. A missing section, or
// one without sso_start_url or sso_region, is an error that says what to
// add.
func (c *Config) SSOSession(name string) (SSOSession, error) {
	keys, ok := c.ssoSessions[name]
	if !ok {
		names := make([]string, 0, len(c.ssoSessions))
		for n := range c.ssoSessions {
			names = append(names, n)
		}
		sort.Strings(names)
		if near := closeNames(name, names); len(near) > 0 {
			return SSOSession{}, fmt.Errorf("sso-session %q not found in %s; did you mean %s?", name, c.files.Config, strings.Join(quoteAll(near), " or "))
		}
		return SSOSession{}, fmt.Errorf("sso-session %q not found in %s; add an [sso-session %s] section with sso_start_url and sso_region (aws configure sso-session)", name, c.files.Config, name)
	}
	s := SSOSession{Name: name, Where: c.files.Config}
	first := 0
	for _, l := range keys {
		if first == 0 || l.line < first {
			first = l.line
		}
	}
	if first > 0 {
		s.Where = fmt.Sprintf("%s line %d", c.files.Config, first)
	}
	for _, k := range []struct {
		key string
		dst *string
	}{{"sso_start_url", &s.StartURL}, {"sso_region", &s.Region}} {
		v := keys[k.key]
		if strings.Contains(v.value, "\n") {
			return SSOSession{}, fmt.Errorf("sso-session %q (%s line %d): %s continues on an indented line; put the whole value on one line", name, v.file, v.line, k.key)
		}
		*k.dst = v.value
	}
	if s.StartURL == "" || s.Region == "" {
		return SSOSession{}, fmt.Errorf("sso-session %q (%s) needs sso_start_url and sso_region", name, s.Where)
	}
	for _, scope := range strings.Split(keys["sso_registration_scopes"].value, ",") {
		if scope = strings.TrimSpace(scope); scope != "" {
			s.RegistrationScopes = append(s.RegistrationScopes, scope)
		}
	}
	return s, nil
}

// SSOSessionNames lists the [sso-session NAME] sections, sorted.
func (c *Config) SSOSessionNames() []string {
	names := make([]string, 0, len(c.ssoSessions))
	for n := range c.ssoSessions {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

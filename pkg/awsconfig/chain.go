package awsconfig

import (
	"fmt"
	"strings"

	"github.com/rolecall/rolecall/pkg/creds"
)

// SourceKind says where the first hop of a chain gets its credentials.
type SourceKind string

// Source kinds.
const (
	// SourceStatic is a profile's own aws_access_key_id and
	// aws_secret_access_key (Source.StaticKeys).
	SourceStatic SourceKind = "static"
	// SourceWebIdentity is a profile with web_identity_token_file: its
	// role_arn (or AWS_ROLE_ARN) is assumed with AssumeRoleWithWebIdentity.
	SourceWebIdentity SourceKind = "web-identity"
	// SourceSSO is a profile with IAM Identity Center settings (sso_session
	// or the legacy sso_start_url keys).
	SourceSSO SourceKind = "sso"
	// SourceProcess is a profile's credential_process.
	SourceProcess SourceKind = "credential-process"
	// SourceNone is a profile with no credentials of its own: the rest of
	// the default chain (container, instance metadata) applies, as in
	// botocore.
	SourceNone SourceKind = "none"
	// SourceEnvironment is credential_source = Environment: the
	// AWS_ACCESS_KEY_ID family of environment variables.
	SourceEnvironment SourceKind = "environment"
	// SourceEC2 is credential_source = Ec2InstanceMetadata.
	SourceEC2 SourceKind = "ec2-instance-metadata"
	// SourceECS is credential_source = EcsContainer.
	SourceECS SourceKind = "ecs-container"
	// SourceKeychain is an IAM user's long-term key that rolecall keeps in
	// a secret store (x_rolecall_keyring): Source.StaticKeys holds its
	// access key ID only, the secret is read from the store when a call
	// needs it. It counts as static keys wherever botocore's rules look
	// for them.
	SourceKeychain SourceKind = "keychain"
)

// credentialSources maps the credential_source values botocore accepts
// (CanonicalNameCredentialSourcer; the names are case-sensitive) to kinds.
var credentialSources = map[string]SourceKind{
	"Environment":         SourceEnvironment,
	"Ec2InstanceMetadata": SourceEC2,
	"EcsContainer":        SourceECS,
}

// Source is where a chain's first hop gets its credentials.
type Source struct {
	Kind SourceKind
	// Profile is the profile the source belongs to: the one holding the
	// static keys, the one to load with the SDK, or the one naming the
	// credential_source.
	Profile string
	// StaticKeys is set for SourceStatic.
	StaticKeys *creds.Credentials
}

// RoleSession reports whether the source's credentials are a role's
// session (SSO and web identity), so that assuming the first role is role
// chaining, which STS caps at one hour. Instance and container credentials
// are not: IAM does not treat roles for applications on EC2 as role chaining
// (IAM User Guide, "Methods to assume a role").
func (s Source) RoleSession() bool {
	return s.Kind == SourceSSO || s.Kind == SourceWebIdentity
}

// Chain is what a profile resolves to: a source of credentials and the roles
// to assume from it, in order.
type Chain struct {
	// Source is where the first hop's credentials come from.
	Source Source
	// Roles are the role profiles to assume in order; the last is the one
	// asked for. Empty when the profile is itself a source (static keys,
	// SSO, credential_process, web identity, or nothing rolecall handles).
	Roles []Profile
}

// Chain resolves a profile as the AWS CLI does (botocore AssumeRoleProvider:
// _get_role_config, _validate_source_profile, _resolve_source_credentials
// and _resolve_credentials_from_profile):
//
//   - a profile with role_arn (and no web_identity_token_file) takes its
//     source credentials from exactly one of source_profile and
//     credential_source;
//   - a source profile with static keys (and no SSO or web identity
//     settings) is the base, even when it also has role_arn: botocore then uses the keys and does not assume that role;
//     this is also what makes a profile whose source_profile names itself
//     work (its keys, then its role once);
//   - a source profile with role_arn and no static keys is assumed in turn,
//     to any depth; visiting a profile twice is a loop;
//   - any other source profile gives its own credentials, in the order of
//     botocore's providers: web_identity_token_file or SSO settings (loaded
//     by the SDK), static keys, credential_process (run by the SDK).
//
// Every mistake is reported before any STS call, naming the profile and the
// file.
func (c *Config) Chain(profile string) (Chain, error) {
	p, err := c.Profile(profile)
	if err != nil {
		return Chain{}, err
	}
	if !isAssumeRoleProfile(p) {
		src, err := c.plainSource(p)
		return Chain{Source: src}, err
	}

	visited := []string{profile}
	var roles []Profile
	cur := p
	for {
		if err := validateRole(cur); err != nil {
			return Chain{}, err
		}
		roles = append(roles, cur)
		if cur.CredentialSource != "" {
			src := Source{Kind: credentialSources[cur.CredentialSource], Profile: cur.Name}
			return Chain{Source: src, Roles: reverse(roles)}, nil
		}
		spName := cur.SourceProfile
		if !c.HasProfile(spName) {
			return Chain{}, fmt.Errorf("profile %q (%s): source_profile %q does not exist in %s or %s; add that profile or fix source_profile",
				cur.Name, cur.where, spName, c.files.Config, c.files.Credentials)
		}
		sp, err := c.Profile(spName)
		if err != nil {
			return Chain{}, err
		}
		if contains(visited, spName) {
			if spName != cur.Name {
				return Chain{}, fmt.Errorf("profile %q (%s): source_profile loops: %s -> %s; end the chain at a profile with keys or a credential_source",
					cur.Name, cur.where, strings.Join(visited, " -> "), spName)
			}
			if !hasStaticKeys(sp) {
				return Chain{}, fmt.Errorf("profile %q (%s): source_profile names the profile itself, which works only when it has aws_access_key_id and aws_secret_access_key; add the keys or point source_profile elsewhere",
					cur.Name, cur.where)
			}
		}
		visited = append(visited, spName)
		if hasStaticKeys(sp) || !isAssumeRoleProfile(sp) {
			src, err := c.providerSource(sp)
			if err != nil {
				return Chain{}, err
			}
			if src.Kind == "" {
				return Chain{}, fmt.Errorf("profile %q (%s): source_profile %q (%s) has no credentials; give it aws_access_key_id and aws_secret_access_key, sso_* settings, credential_process, or role_arn with a source",
					cur.Name, cur.where, spName, sp.where)
			}
			return Chain{Source: src, Roles: reverse(roles)}, nil
		}
		cur = sp
	}
}

// isAssumeRoleProfile is botocore's _has_assume_role_config_vars: role_arn
// without web_identity_token_file (that pair is the web identity
// provider's).
func isAssumeRoleProfile(p Profile) bool {
	_, has := p.keys["role_arn"]
	return has && p.WebIdentityTokenFile == ""
}

// hasStaticKeys is botocore's _has_static_credentials: either key present.
func hasStaticKeys(p Profile) bool {
	_, id := p.keys["aws_access_key_id"]
	_, secret := p.keys["aws_secret_access_key"]
	_, keychain := p.keys[KeyringBackendKey]
	return id || secret || keychain
}

// validateRole checks a role profile's source settings, as
// AssumeRoleProvider._get_role_config does.
func validateRole(p Profile) error {
	_, hasSP := p.keys["source_profile"]
	_, hasCS := p.keys["credential_source"]
	switch {
	case p.RoleARN == "":
		return fmt.Errorf("profile %q (%s): role_arn is empty; set it to the role's ARN", p.Name, p.where)
	case hasSP && hasCS:
		return fmt.Errorf("profile %q (%s) sets both source_profile and credential_source; keep only one of them", p.Name, p.where)
	case !hasSP && !hasCS:
		return fmt.Errorf("profile %q (%s) has role_arn but neither source_profile nor credential_source; add one of them to say where the credentials to assume the role come from", p.Name, p.where)
	case hasCS:
		if _, ok := credentialSources[p.CredentialSource]; !ok {
			hint := "use Environment, Ec2InstanceMetadata or EcsContainer"
			for name := range credentialSources {
				if strings.EqualFold(name, p.CredentialSource) {
					hint = fmt.Sprintf("did you mean %s? (the name is case-sensitive)", name)
				}
			}
			return fmt.Errorf("profile %q (%s): credential_source %q is not valid; %s", p.Name, p.where, p.CredentialSource, hint)
		}
	case p.SourceProfile == "":
		return fmt.Errorf("profile %q (%s): source_profile is empty; name the profile whose credentials assume the role", p.Name, p.where)
	}
	return nil
}

// OwnSourceKind is the kind of credentials profile p holds itself, by the
// rule the chain uses (providerSource): SourceNone when it has none, or
// when they are incomplete (the chain names what is missing).
func (c *Config) OwnSourceKind(p Profile) SourceKind {
	src, err := c.providerSource(p)
	if err != nil || src.Kind == "" {
		return SourceNone
	}
	return src.Kind
}

// providerSource picks a profile's own credentials in the order of botocore's
// ProfileProviderBuilder: web identity, SSO, static keys from the
// credentials file, credential_process, static keys from the config file.
// The zero Source means the profile has none.
func (c *Config) providerSource(p Profile) (Source, error) {
	switch {
	case p.WebIdentityTokenFile != "":
		return Source{Kind: SourceWebIdentity, Profile: p.Name}, nil
	case p.SSO:
		return Source{Kind: SourceSSO, Profile: p.Name}, nil
	case p.Keychain != nil:
		// Before the credentials file's keys and credential_process: a
		// profile moved to the keychain keeps a credential_process that
		// runs rolecall for other tools, and rolecall must not run itself.
		return Source{Kind: SourceKeychain, Profile: p.Name, StaticKeys: &creds.Credentials{AccessKeyID: p.Keychain.AccessKeyID}}, nil
	case hasStaticKeys(p) && (p.CredentialProcess == "" || p.keys["aws_access_key_id"].file == c.files.Credentials):
		return staticSource(p)
	case p.CredentialProcess != "":
		return Source{Kind: SourceProcess, Profile: p.Name}, nil
	}
	return Source{}, nil
}

// plainSource resolves a profile that assumes no role itself: the profile
// is the source. A profile with no credentials of its own leaves them to the
// rest of the default chain.
func (c *Config) plainSource(p Profile) (Source, error) {
	if p.WebIdentityTokenFile == "" {
		for _, key := range []string{"source_profile", "credential_source"} {
			if _, ok := p.keys[key]; ok {
				return Source{}, fmt.Errorf("profile %q (%s) sets %s but no role_arn; %s only says where a role's credentials come from: add role_arn or remove %s",
					p.Name, p.where, key, key, key)
			}
		}
	} else {
		// botocore's web identity provider would ignore these; the Go SDK,
		// which loads this profile, refuses it ("only one credential type").
		for _, key := range []string{"source_profile", "credential_source"} {
			if _, ok := p.keys[key]; ok {
				return Source{}, fmt.Errorf("profile %q (%s) sets both web_identity_token_file and %s; keep only one of them", p.Name, p.where, key)
			}
		}
	}
	src, err := c.providerSource(p)
	if err != nil || src.Kind != "" {
		return src, err
	}
	return Source{Kind: SourceNone, Profile: p.Name}, nil
}

func staticSource(p Profile) (Source, error) {
	k := p.StaticKeys
	switch {
	case k.AccessKeyID == "":
		return Source{}, fmt.Errorf("profile %q (%s) has aws_secret_access_key but no aws_access_key_id; add the key ID", p.Name, p.where)
	case k.SecretAccessKey == "":
		return Source{}, fmt.Errorf("profile %q (%s) has aws_access_key_id but no aws_secret_access_key; add the secret key", p.Name, p.where)
	}
	keys := *k
	return Source{Kind: SourceStatic, Profile: p.Name, StaticKeys: &keys}, nil
}

func reverse(ps []Profile) []Profile {
	out := make([]Profile, len(ps))
	for i, p := range ps {
		out[len(ps)-1-i] = p
	}
	return out
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

package sso

import (
	"fmt"
	"strings"

	"github.com/rolecall/rolecall/pkg/awsconfig"
)

// Session is an IAM Identity Center instance to sign in to, as a profile
// or an [sso-session] section names it.
type Session struct {
	// Name is the [sso-session NAME]; empty for a legacy profile, whose
	// own sso_start_url and sso_region name the instance.
	Name string
	// Profile is the legacy profile holding the settings, for messages;
	// empty with an sso-session.
	Profile  string
	StartURL string
	Region   string
	// Scopes is sso_registration_scopes; nil when unset.
	Scopes []string
}

// String names the session for messages.
func (s Session) String() string {
	if s.Name != "" {
		return "IAM Identity Center session " + s.Name
	}
	return "IAM Identity Center login for profile " + s.Profile + " (" + s.StartURL + ")"
}

// LoginCommand is the command that signs in to the session.
func (s Session) LoginCommand() string {
	if s.Name != "" {
		return "rolecall login --sso-session " + s.Name
	}
	return "rolecall login --profile " + s.Profile
}

// Ref is how a command names a session: --sso-session, else --profile,
// else the profile of the environment (AWS_PROFILE, AWS_DEFAULT_PROFILE,
// else default).
type Ref struct {
	Profile string
	Session string
}

// ResolveSession finds the session ref names in the AWS config files. A
// profile without IAM Identity Center settings is an error, except that
// with no profile named at all and exactly one [sso-session] in the file,
// that one is meant.
func ResolveSession(ref Ref, env Env) (Session, error) {
	cfg, err := awsconfig.Load(awsconfig.DefaultFiles(env.Getenv, env.HomeDir))
	if err != nil {
		return Session{}, &ConfigError{Err: err, Hint: "fix the file, or point AWS_CONFIG_FILE elsewhere"}
	}
	if ref.Session != "" {
		if ref.Profile != "" {
			return Session{}, &ConfigError{Err: fmt.Errorf("--profile and --sso-session both name a session"), Hint: "pass one of them", Usage: true}
		}
		return sessionByName(cfg, ref.Session)
	}
	name, named := ref.Profile, ref.Profile != ""
	if !named {
		name = awsconfig.ProfileFromEnv(env.Getenv)
		named = name != "default"
	}
	if !cfg.HasProfile(name) && !named {
		return onlySession(cfg)
	}
	p, err := cfg.Profile(name)
	if err != nil {
		return Session{}, &ConfigError{Err: err, Hint: "name a profile with sso_session, or pass --sso-session NAME"}
	}
	if !p.SSO && !named {
		return onlySession(cfg)
	}
	return SessionOf(cfg, p)
}

// onlySession is the one [sso-session] of the file, when no profile names
// one.
func onlySession(cfg *awsconfig.Config) (Session, error) {
	names := cfg.SSOSessionNames()
	if len(names) == 1 {
		return sessionByName(cfg, names[0])
	}
	hint := "add an [sso-session NAME] section (aws configure sso-session), then pass --sso-session NAME"
	if len(names) > 1 {
		hint = "pass --sso-session with one of: " + strings.Join(names, ", ")
	}
	return Session{}, &ConfigError{Err: fmt.Errorf("no IAM Identity Center session named: the default profile has no sso_session"), Hint: hint, Usage: true}
}

func sessionByName(cfg *awsconfig.Config, name string) (Session, error) {
	s, err := cfg.SSOSession(name)
	if err != nil {
		return Session{}, &ConfigError{Err: err}
	}
	return Session{Name: s.Name, StartURL: s.StartURL, Region: s.Region, Scopes: s.RegistrationScopes}, nil
}

// SessionOf is the session of a profile with IAM Identity Center settings:
// its sso_session's section, or its own legacy sso_start_url and
// sso_region.
func SessionOf(cfg *awsconfig.Config, p awsconfig.Profile) (Session, error) {
	if p.SSOSession != "" {
		return sessionByName(cfg, p.SSOSession)
	}
	if p.SSOStartURL == "" || p.SSORegion == "" {
		return Session{}, &ConfigError{Err: fmt.Errorf("profile %q (%s) has no sso_session, nor sso_start_url and sso_region", p.Name, p.Where()),
			Hint: "give the profile sso_session = NAME and an [sso-session NAME] section (aws configure sso)"}
	}
	return Session{Profile: p.Name, StartURL: p.SSOStartURL, Region: p.SSORegion}, nil
}

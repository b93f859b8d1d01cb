package sso

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/template"

	"github.com/rolecall/rolecall/pkg/awsconfig"
	"github.com/rolecall/rolecall/pkg/cache"
)

// The use cases the commands call, one function each: login, logout, the
// accounts a token reaches, and profiles for them.

// LoginRequest is what `rolecall login` asks.
type LoginRequest struct {
	Ref
	LoginOptions
	// Force signs in even when the cached token is valid or can be
	// refreshed.
	Force bool
}

// How a login was satisfied.
const (
	LoginStillValid = "valid"     // the cached token has more than RefreshWindow left
	LoginRefreshed  = "refreshed" // the refresh token got a new one
	LoginSignedIn   = "signed in" // a person signed in
)

// LoginResult is what Login did.
type LoginResult struct {
	Session Session
	Token   Token
	How     string
}

// Login signs in to the session req names, unless the cached token is
// still good or can be refreshed: a person is asked only when needed.
func Login(ctx context.Context, req LoginRequest, env Env) (LoginResult, error) {
	s, err := ResolveSession(req.Ref, env)
	if err != nil {
		return LoginResult{}, err
	}
	c, err := NewClient(env)
	if err != nil {
		return LoginResult{}, err
	}
	if !req.Force {
		if t, err := LoadToken(env.HomeDir, s); err == nil {
			old := t.AccessToken
			fresh, err := c.Freshen(ctx, s, t)
			var lr *LoginRequiredError
			switch {
			case err == nil && fresh.ExpiresAt.Sub(env.now()) > RefreshWindow:
				how := LoginStillValid
				if fresh.AccessToken != old {
					how = LoginRefreshed
				}
				return LoginResult{Session: s, Token: fresh, How: how}, nil
			case err != nil && !errors.As(err, &lr):
				return LoginResult{}, err
			}
		}
	}
	t, err := c.Login(ctx, s, req.LoginOptions)
	if err != nil {
		return LoginResult{}, err
	}
	return LoginResult{Session: s, Token: t, How: LoginSignedIn}, nil
}

// LogoutRequest is what `rolecall logout` asks.
type LogoutRequest struct {
	Ref
	// All signs out of every session with a token in the cache, as `aws
	// sso logout` does.
	All bool
	// CacheDir is rolecall's credential cache; "" for its default place.
	CacheDir string
}

// LogoutResult is what Logout did.
type LogoutResult struct {
	// SignedOut names the sessions whose token was removed.
	SignedOut []string
	// Warnings are portal Logout calls that failed; their token files are
	// removed anyway (the AWS CLI does the same).
	Warnings []string
	// RemovedCredentials counts the cached IAM Identity Center role
	// credentials removed from rolecall's cache.
	RemovedCredentials int
}

// Logout ends sign-ins: the portal's Logout with each token, then its
// file is removed; client registrations stay, as with `aws sso logout`.
// rolecall's cached role credentials from IAM Identity Center go too (the
// AWS CLI removes its own the same way): keyed by a token that is gone,
// they could not be reached again anyway.
func Logout(ctx context.Context, req LogoutRequest, env Env) (LogoutResult, error) {
	c, err := NewClient(env)
	if err != nil {
		return LogoutResult{}, err
	}
	var res LogoutResult
	var files []string
	if req.All {
		matches, _ := filepath.Glob(filepath.Join(CacheDir(env.HomeDir), "*.json"))
		files = matches
	} else {
		s, err := ResolveSession(req.Ref, env)
		if err != nil {
			return LogoutResult{}, err
		}
		files = []string{TokenPath(env.HomeDir, s)}
	}
	for _, path := range files {
		t, err := ReadToken(path)
		if err != nil {
			continue // a registration, or no token: nothing to sign out of
		}
		s := Session{StartURL: t.StartURL, Region: t.Region, Profile: t.StartURL}
		if t.Region != "" {
			if err := c.logout(ctx, s, t); err != nil {
				res.Warnings = append(res.Warnings, fmt.Sprintf("%s: %v", t.StartURL, err))
			}
		}
		if err := os.Remove(path); err != nil && !isNotExist(err) {
			return res, fmt.Errorf("remove %s: %w", path, err)
		}
		res.SignedOut = append(res.SignedOut, t.StartURL)
	}
	dir := req.CacheDir
	if dir == "" {
		if dir, err = cache.DefaultDir(env.Getenv); err != nil {
			return res, nil
		}
	}
	store, err := cache.Open(dir, cache.Options{Now: env.Now})
	if err != nil {
		return res, nil
	}
	n, err := store.Remove(func(e cache.Entry) bool { return e.Kind == cache.KindSSORole })
	res.RemovedCredentials = n
	if err != nil {
		res.Warnings = append(res.Warnings, err.Error())
	}
	return res, nil
}

// ListAccounts lists the accounts and roles the session's token reaches.
func ListAccounts(ctx context.Context, ref Ref, env Env) (Session, []Account, error) {
	s, err := ResolveSession(ref, env)
	if err != nil {
		return Session{}, nil, err
	}
	c, err := NewClient(env)
	if err != nil {
		return s, nil, err
	}
	t, err := c.Fresh(ctx, s)
	if err != nil {
		return s, nil, err
	}
	accounts, err := c.Accounts(ctx, s, t)
	return s, accounts, err
}

// DefaultProfileTemplate names a generated profile after the account and
// the role, as granted's `sso populate` does.
const DefaultProfileTemplate = "{{.AccountName}}/{{.RoleName}}"

// ProfileFields are what a profile name template can use.
type ProfileFields struct {
	AccountID, AccountName, AccountEmail, RoleName, SessionName string
}

// ProfilesRequest is what `rolecall sso profiles` asks.
type ProfilesRequest struct {
	Ref
	// Template names each profile (text/template over ProfileFields);
	// DefaultProfileTemplate when empty. The result is made a valid
	// profile name: every run of characters a profile name cannot hold
	// becomes one "-".
	Template string
	// Region is the region each profile gets; the session's sso_region
	// when empty, as `aws configure sso` offers: a profile without one
	// fails in the AWS CLI ("You must specify a region").
	Region string
	// Write puts the profiles into the config file; without it they are
	// only listed.
	Write bool
	// Force overwrites profiles of the same name that rolecall did not
	// write.
	Force bool
	// Prune, with Write, removes the profiles rolecall generated for this
	// session (ManagedKey) whose account and role the session no longer
	// reaches. A profile rolecall did not write is never removed.
	Prune bool
	// Diff computes the change Write (and Prune) would make, as a unified
	// diff in ProfilesResult.Diff, and writes nothing.
	Diff bool
}

// Profile is a profile for one account and role.
type Profile struct {
	Name string
	Keys []awsconfig.KeyValue
}

// ProfilesResult is what Profiles made and did.
type ProfilesResult struct {
	Session  Session
	Profiles []Profile
	// File is the config file; Changed reports whether its bytes changed.
	File    string
	Changed bool
	// Skipped are profiles that exist without rolecall's mark and were
	// left alone (no Force).
	Skipped []string
	// Pruned are the generated profiles removed (Prune).
	Pruned []string
	// Diff is the change as a unified diff (Diff), "" for none.
	Diff string
}

// profileKeysRemoved are the keys a generated profile must not keep from
// an older definition: each would make the SDKs take credentials from
// somewhere else.
var profileKeysRemoved = []string{"role_arn", "source_profile", "credential_source", "credential_process", "web_identity_token_file",
	"aws_access_key_id", "aws_secret_access_key", "aws_session_token"}

// Profiles makes a profile for every account and role the session's token
// reaches, and with req.Write writes them into the config file through
// awsconfig's byte-preserving writer, marked as rolecall's: a second run
// changes only what changed in Identity Center, and a file already up to
// date is not touched at all.
func Profiles(ctx context.Context, req ProfilesRequest, env Env) (ProfilesResult, error) {
	tmplText := req.Template
	if tmplText == "" {
		tmplText = DefaultProfileTemplate
	}
	tmpl, err := template.New("profile").Option("missingkey=error").Parse(tmplText)
	if err != nil {
		return ProfilesResult{}, &ConfigError{Err: fmt.Errorf("--template: %w", err), Hint: "use fields such as {{.AccountName}}, {{.AccountID}}, {{.RoleName}}", Usage: true}
	}
	s, accounts, err := ListAccounts(ctx, req.Ref, env)
	if err != nil {
		return ProfilesResult{}, err
	}
	res := ProfilesResult{Session: s, File: awsconfig.DefaultFiles(env.Getenv, env.HomeDir).Config}
	seen := map[string]string{}
	for _, a := range accounts {
		for _, role := range a.Roles {
			var b bytes.Buffer
			if err := tmpl.Execute(&b, ProfileFields{AccountID: a.ID, AccountName: a.Name, AccountEmail: a.Email, RoleName: role, SessionName: s.Name}); err != nil {
				return ProfilesResult{}, &ConfigError{Err: fmt.Errorf("--template: %w", err), Hint: "use fields such as {{.AccountName}}, {{.AccountID}}, {{.RoleName}}", Usage: true}
			}
			name := ProfileName(b.String())
			if name == "" {
				return ProfilesResult{}, &ConfigError{Err: fmt.Errorf("--template gives account %s role %s an empty profile name", a.ID, role), Usage: true}
			}
			what := a.ID + "/" + role
			if prev, dup := seen[name]; dup {
				return ProfilesResult{}, &ConfigError{Err: fmt.Errorf("--template names both %s and %s %q", prev, what, name),
					Hint: "add {{.AccountID}} to --template so that every account and role gets its own name", Usage: true}
			}
			seen[name] = what
			res.Profiles = append(res.Profiles, Profile{Name: name, Keys: profileKeys(s, a.ID, role, cmp.Or(req.Region, s.Region))})
		}
	}
	sort.Slice(res.Profiles, func(i, j int) bool { return res.Profiles[i].Name < res.Profiles[j].Name })
	if !req.Write {
		return res, nil
	}
	before, _ := os.ReadFile(res.File)
	target := res.File
	if req.Diff {
		// The same edits on a private copy; the file itself is not touched.
		dir, err := os.MkdirTemp("", "rolecall-diff-")
		if err != nil {
			return res, err
		}
		defer func() { _ = os.RemoveAll(dir) }()
		target = filepath.Join(dir, "config")
		if err := os.WriteFile(target, before, 0o600); err != nil { //nolint:gosec // a file in our own new temporary directory
			return res, err
		}
	}
	remove := append([]string(nil), profileKeysRemoved...)
	if s.Name != "" {
		remove = append(remove, "sso_start_url", "sso_region")
	} else {
		remove = append(remove, "sso_session")
	}
	for _, p := range res.Profiles {
		err := awsconfig.WriteConfigProfile(ctx, target, p.Name, p.Keys, awsconfig.WriteOptions{Managed: true, Force: req.Force, Remove: remove})
		if errors.Is(err, awsconfig.ErrUnmanagedSection) {
			res.Skipped = append(res.Skipped, p.Name)
			continue
		}
		if err != nil {
			return res, &ConfigError{Err: err}
		}
	}
	if req.Prune {
		if res.Pruned, err = pruneProfiles(ctx, target, s, accounts, env); err != nil {
			return res, err
		}
	}
	after, _ := os.ReadFile(target) //nolint:gosec // the config file, or our private copy of it
	res.Changed = !bytes.Equal(before, after)
	if req.Diff {
		res.Diff = awsconfig.UnifiedDiff(res.File, res.File, before, after)
		res.Changed = false
	}
	return res, nil
}

// pruneProfiles removes from the config file at path the profiles
// rolecall generated for session s (ManagedKey, and the session's
// sso_session, or its start URL for a legacy profile) whose account and
// role are not among accounts. It returns their names.
func pruneProfiles(ctx context.Context, path string, s Session, accounts []Account, env Env) ([]string, error) {
	reach := map[string]bool{}
	for _, a := range accounts {
		for _, role := range a.Roles {
			reach[a.ID+"/"+role] = true
		}
	}
	files := awsconfig.DefaultFiles(env.Getenv, env.HomeDir)
	files.Config = path
	cfg, err := awsconfig.Load(files)
	if err != nil {
		return nil, &ConfigError{Err: err}
	}
	var pruned []string
	for _, name := range cfg.ProfileNames() {
		p, err := cfg.Profile(name)
		if err != nil || p.KeyWhere(awsconfig.ManagedKey) == "" || !p.SSO || p.SSOAccountID == "" {
			continue
		}
		ours := s.Name != "" && p.SSOSession == s.Name || s.Name == "" && p.SSOSession == "" && p.SSOStartURL == s.StartURL
		if !ours || reach[p.SSOAccountID+"/"+p.SSORoleName] {
			continue
		}
		if err := awsconfig.RemoveConfigProfile(ctx, path, name, awsconfig.WriteOptions{}); err != nil {
			if errors.Is(err, awsconfig.ErrUnmanagedSection) {
				continue // in the credentials file, or unmarked there
			}
			return pruned, &ConfigError{Err: err}
		}
		pruned = append(pruned, name)
	}
	return pruned, nil
}

func profileKeys(s Session, accountID, role, region string) []awsconfig.KeyValue {
	var keys []awsconfig.KeyValue
	if s.Name != "" {
		keys = append(keys, awsconfig.KeyValue{Key: "sso_session", Value: s.Name})
	} else {
		keys = append(keys, awsconfig.KeyValue{Key: "sso_start_url", Value: s.StartURL}, awsconfig.KeyValue{Key: "sso_region", Value: s.Region})
	}
	keys = append(keys, awsconfig.KeyValue{Key: "sso_account_id", Value: accountID}, awsconfig.KeyValue{Key: "sso_role_name", Value: role})
	if region != "" {
		keys = append(keys, awsconfig.KeyValue{Key: "region", Value: region})
	}
	return keys
}

// ProfileName makes name a profile name every reader parses back the same
// (awsconfig.ValidateProfileName): each run of characters it cannot hold
// (white space, brackets, quotes, comment characters, control characters)
// becomes one "-", and "-" is trimmed from the ends.
func ProfileName(name string) string {
	var b strings.Builder
	bad := false
	for _, r := range name {
		if awsconfig.ValidateProfileName(string(r)) != nil {
			bad = true
			continue
		}
		if bad && b.Len() > 0 {
			b.WriteByte('-')
		}
		bad = false
		b.WriteRune(r)
	}
	out := strings.Trim(b.String(), "-")
	if awsconfig.ValidateProfileName(out) != nil && out != "" {
		out += "-" // DEFAULT, which the AWS CLI reserves
	}
	return out
}

// MarshalProfiles writes profiles as config file sections, for a person
// to read or paste.
func MarshalProfiles(profiles []Profile) []byte {
	var b bytes.Buffer
	for i, p := range profiles {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "[profile %s]\n", p.Name)
		for _, kv := range p.Keys {
			fmt.Fprintf(&b, "%s = %s\n", kv.Key, kv.Value)
		}
	}
	return b.Bytes()
}

// MarshalAccounts is the accounts as JSON, for -f json.
func MarshalAccounts(accounts []Account) ([]byte, error) {
	if accounts == nil {
		accounts = []Account{}
	}
	out, err := json.MarshalIndent(accounts, "", "  ")
	return append(out, '\n'), err
}

package format

import (
	"fmt"
	"io"
	"slices"
)

// The container credentials variables: every AWS SDK's default chain reads
// them and then fetches credentials over HTTP, again whenever they near
// expiry. rolecall's endpoint (`rolecall serve`, `rolecall exec --server`)
// is found through them.
const (
	EnvContainerFullURI   = "AWS_CONTAINER_CREDENTIALS_FULL_URI"
	EnvContainerToken     = "AWS_CONTAINER_AUTHORIZATION_TOKEN"      //nolint:gosec // a variable name, not a secret
	EnvContainerTokenFile = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE" //nolint:gosec // a variable name, not a secret
)

// Endpoint is a credential endpoint as an SDK finds it in its environment.
type Endpoint struct {
	// URI is the full URI of the credentials (AWS_CONTAINER_CREDENTIALS_FULL_URI).
	URI string
	// Token, when set, is exported itself (AWS_CONTAINER_AUTHORIZATION_TOKEN);
	// TokenFile, when set, names the file that holds it (…_TOKEN_FILE),
	// which the SDKs read again at every fetch. With both, the SDKs that
	// read the file (since about 2023) prefer it; older ones read the
	// variable.
	Token     string
	TokenFile string
	// Region, when known, is exported as AWS_REGION and AWS_DEFAULT_REGION.
	Region string
	// ConfigFile and CredentialsFile, when set, replace the user's AWS
	// files (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE) with copies whose
	// default profile has no credentials: every SDK reads those files
	// before the endpoint (see awsconfig.WriteIsolated).
	ConfigFile, CredentialsFile string
	// Outer, when not nil, is what the variables a shell format sets or
	// unsets held before (the environment of the program that renders
	// them): each is recorded in OuterPrefix+NAME, "x" + the value or
	// OuterUnset, for shell-init's unassume to put back.
	Outer func(name string) (string, bool)
}

// OuterPrefix starts the variables in which endpoint exports record what
// they replaced; shell-init's unassume reads them.
const OuterPrefix = "ROLECALL_OUTER_"

// OuterUnset records a variable that was not set. Not "": PowerShell and
// cmd remove a variable set to the empty string, which would lose the
// record.
const OuterUnset = "-"

// EndpointRestoredVars are the variables endpoint exports set or unset that
// unassume puts back from OuterPrefix records: the endpoint's own, the file
// paths, the region and the profile selection. Credentials are never
// recorded: a copy would be one more place for a key to leak from.
func EndpointRestoredVars() []string {
	return append([]string{EnvContainerFullURI, EnvContainerToken, EnvContainerTokenFile, envConfigFile, envCredentialsFile, envRegion, envDefaultRegion}, ProfileEnvVars()...)
}

// The files every SDK reads, and exec --server and serve may replace.
const (
	envConfigFile      = "AWS_CONFIG_FILE"
	envCredentialsFile = "AWS_SHARED_CREDENTIALS_FILE" //nolint:gosec // a variable name, not a secret
)

// EndpointVars returns the variables that point an SDK at e: the URI, the
// token's file and the token (each when set), then the region when known.
func EndpointVars(e Endpoint) []Var {
	vars := []Var{{EnvContainerFullURI, e.URI}}
	if e.TokenFile != "" {
		vars = append(vars, Var{EnvContainerTokenFile, e.TokenFile})
	}
	if e.Token != "" {
		vars = append(vars, Var{EnvContainerToken, e.Token})
	}
	if e.Region != "" {
		vars = append(vars, Var{envRegion, e.Region}, Var{envDefaultRegion, e.Region})
	}
	if e.ConfigFile != "" {
		vars = append(vars, Var{envConfigFile, e.ConfigFile})
	}
	if e.CredentialsFile != "" {
		vars = append(vars, Var{envCredentialsFile, e.CredentialsFile})
	}
	return vars
}

// outerVars records, for unassume, what each restorable variable the
// exports change held before.
func outerVars(e Endpoint, vars []Var) []Var {
	var out []Var
	for _, name := range EndpointRestoredVars() {
		set := slices.ContainsFunc(vars, func(v Var) bool { return v.Name == name })
		if !set && !slices.Contains(ProfileEnvVars(), name) {
			continue // not changed by these exports
		}
		value, had := e.Outer(name)
		record := OuterUnset
		if had {
			record = "x" + value
		}
		out = append(out, Var{OuterPrefix + name, record})
	}
	return out
}

// RenderEndpoint writes the variables of e in a shell format (env, fish,
// powershell, cmd), which first unset every other credential setting (keys,
// AWS_PROFILE, web identity: the SDKs' chains try those before the
// container endpoint), or as dotenv lines (docker run --env-file). Like
// Render it validates first and writes once.
func RenderEndpoint(w io.Writer, f Format, e Endpoint) error {
	if !f.IsShell() && f != Dotenv {
		return fmt.Errorf("format %s cannot carry an endpoint's variables: use env, fish, powershell, cmd or dotenv", f)
	}
	vars := EndpointVars(e)
	if e.Outer != nil && f != Dotenv {
		vars = append(vars, outerVars(e, vars)...)
	}
	var unset []string
	for _, name := range ConflictingEnvVars() {
		if !slices.ContainsFunc(vars, func(v Var) bool { return v.Name == name }) {
			unset = append(unset, name)
		}
	}
	out, err := renderVars(f, vars, unset)
	if err != nil {
		return err
	}
	if _, err := w.Write(out); err != nil {
		return fmt.Errorf("write %s output: %w", f, err)
	}
	return nil
}

// renderVars renders vars in a shell or dotenv format; the shell formats
// first unset the variables named in unset.
func renderVars(f Format, vars []Var, unset []string) ([]byte, error) {
	switch f {
	case Env:
		return renderEnv(vars, unset)
	case Fish:
		return renderFish(vars, unset)
	case PowerShell:
		return renderPowerShell(vars, unset)
	case Cmd:
		return renderCmd(vars, unset)
	case Dotenv:
		return renderDotenv(vars)
	}
	return nil, fmt.Errorf("format %s renders no variables", f)
}

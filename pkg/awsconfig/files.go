package awsconfig

import (
	"path/filepath"
	"strings"
)

// Files names the shared config file and the shared credentials file.
type Files struct{ Config, Credentials string }

// DefaultFiles returns the files the AWS CLI reads: AWS_CONFIG_FILE and
// AWS_SHARED_CREDENTIALS_FILE when set, else ~/.aws/config and
// ~/.aws/credentials under home. Like botocore (raw_config_parse calls
// os.path.expandvars then os.path.expanduser), $VAR and ${VAR} are
// expanded and a leading ~ means home.
func DefaultFiles(getenv func(string) string, home string) Files {
	f := Files{
		Config:      filepath.Join(home, ".aws", "config"),
		Credentials: filepath.Join(home, ".aws", "credentials"),
	}
	if p := getenv("AWS_CONFIG_FILE"); p != "" {
		f.Config = expandPath(p, getenv, home)
	}
	if p := getenv("AWS_SHARED_CREDENTIALS_FILE"); p != "" {
		f.Credentials = expandPath(p, getenv, home)
	}
	return f
}

// ProfileFromEnv returns the profile the AWS CLI v2 uses when none is named:
// EnvProfile's, else "default".
func ProfileFromEnv(getenv func(string) string) string {
	if p, _ := EnvProfile(getenv); p != "" {
		return p
	}
	return "default"
}

// EnvProfile returns the profile the environment names and the variable
// that names it: AWS_PROFILE, else AWS_DEFAULT_PROFILE (AWS CLI v2's
// botocore lists them in that order; v1 checked AWS_DEFAULT_PROFILE
// first), else "", "". Messages about such a profile name the variable:
// it was often exported long before.
func EnvProfile(getenv func(string) string) (name, variable string) {
	for _, v := range []string{"AWS_PROFILE", "AWS_DEFAULT_PROFILE"} {
		if p := getenv(v); p != "" {
			return p, v
		}
	}
	return "", ""
}

// expandPath expands variables the way Python's os.path.expandvars does
// (an unset variable is left as written) and then a leading "~" or "~/".
func expandPath(p string, getenv func(string) string, home string) string {
	p = expandVars(p, getenv)
	switch {
	case p == "~":
		return home
	case strings.HasPrefix(p, "~/"), strings.HasPrefix(p, `~\`) && filepath.Separator == '\\':
		return filepath.Join(home, p[2:])
	}
	return p
}

func expandVars(s string, getenv func(string) string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] != '$' {
			b.WriteByte(s[i])
			i++
			continue
		}
		name, width := "", 0
		if i+1 < len(s) && s[i+1] == '{' {
			if end := strings.IndexByte(s[i+2:], '}'); end >= 0 {
				name, width = s[i+2:i+2+end], end+3
			}
		} else {
			j := i + 1
			for j < len(s) && isVarChar(s[j]) {
				j++
			}
			name, width = s[i+1:j], j-i
		}
		if v := getenv(name); name != "" && v != "" {
			b.WriteString(v)
			i += width
			continue
		}
		b.WriteByte('$')
		i++
	}
	return b.String()
}

func isVarChar(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

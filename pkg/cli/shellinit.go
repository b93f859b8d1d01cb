package cli

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/rolecall/rolecall/pkg/creds"
	"github.com/rolecall/rolecall/pkg/format"
)

// ShellInitOptions are the dependencies and flag values of
// `rolecall shell-init`.
type ShellInitOptions struct {
	IO    *IO
	Shell string
	// Name is the shell function that assumes a role; the one that clears
	// it is always unassume.
	Name string
}

// shellInitShells are the shells shell-init writes functions for, with the
// format each one evaluates and the line that goes into its rc file.
var shellInitShells = map[string]struct {
	format format.Format
	rcFile string
	rcLine string
}{
	"bash":       {format.Env, "~/.bashrc", `eval "$(rolecall shell-init bash)"`},
	"zsh":        {format.Env, "~/.zshrc", `eval "$(rolecall shell-init zsh)"`},
	"fish":       {format.Fish, "~/.config/fish/config.fish", `rolecall shell-init fish | source`},
	"powershell": {format.PowerShell, "$PROFILE", `rolecall shell-init powershell | Out-String | Invoke-Expression`},
}

// shellInitEnv marks the rolecall assume that a shell-init function runs:
// its value is the format the function evaluates. rolecall then refuses the
// flags whose output the function must not evaluate, and prints its help on
// stderr (checkShellInitAssume, Run).
const shellInitEnv = "ROLECALL_SHELL_INIT"

// checkShellInitAssume refuses, in the rolecall assume that shell-init's
// assume function runs, flags that cannot do what they say there: the
// function evaluates stdout as this shell's code, so another format (json,
// ini, another shell's exports) would be run as commands, and
// --write-profile prints nothing and sets nothing in the shell. Outside the
// function (shellInitEnv unset) it allows everything.
func checkShellInitAssume(io *IO, cmd *cobra.Command) error {
	marker := io.Getenv(shellInitEnv)
	if marker == "" || cmd.Name() != "assume" {
		return nil
	}
	shellFormat, err := format.Parse(marker)
	if err != nil {
		return usageErrorf("unset "+shellInitEnv+": shell-init's functions set it for one command", "%s=%q is not a format", shellInitEnv, marker)
	}
	if f := cmd.Flags().Lookup("write-profile"); f != nil && f.Changed {
		return usageErrorf("to write the profile, run: rolecall assume --write-profile "+f.Value.String()+" ...",
			"the shell's assume function sets credentials in this shell; --write-profile writes a file instead")
	}
	if f := cmd.Flags().Lookup("format"); f != nil {
		if got, err := format.Parse(f.Value.String()); err == nil && got != shellFormat {
			return usageErrorf("to print them, run: rolecall assume -f "+string(got)+" ...",
				"the shell's assume function evaluates -f %s output; -f %s is not that", shellFormat, f.Value.String())
		}
	}
	return nil
}

// shellInitAliases are other names for the shells above.
var shellInitAliases = map[string]string{"pwsh": "powershell"}

// shellFunctionName is what --name accepts: a word every one of the four
// shells takes as a function name without quoting.
// It is checked by hand, not by a package-level regexp: every rolecall run
// would pay for compiling it, and a cache hit must cost next to nothing.
func isShellFunctionName(name string) bool {
	for i, r := range name {
		switch {
		case r == '_', r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
		case i > 0 && (r == '-' || r >= '0' && r <= '9'):
		default:
			return false
		}
	}
	return name != ""
}

// NewCmdShellInit builds `rolecall shell-init`.
func NewCmdShellInit(io *IO, runF func(*ShellInitOptions) error) *cobra.Command {
	opts := &ShellInitOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "shell-init bash|zsh|fish|powershell",
		Short: "Print shell functions that set a role's credentials in the current shell",
		Long: `Print two shell functions for your shell's startup file:

    assume ROLE [flags]   run 'rolecall assume ROLE [flags]' and, only when it
                          succeeded, set the credentials in this shell, with
                          ROLECALL_ROLE naming the role (for your prompt)
    unassume              remove them again, and put back the AWS_PROFILE,
                          AWS_DEFAULT_PROFILE or region variable the role
                          replaced

Add the line for your shell to its startup file:

    bash        ~/.bashrc                    eval "$(rolecall shell-init bash)"
    zsh         ~/.zshrc                     eval "$(rolecall shell-init zsh)"
    fish        ~/.config/fish/config.fish   rolecall shell-init fish | source
    PowerShell  $PROFILE                     rolecall shell-init powershell | Out-String | Invoke-Expression

A role assumed earlier in the same shell is replaced, not chained from; to
chain, name every role: assume base-role target-role. assume refuses the
flags that would not set credentials in this shell (another shell's -f,
json, ini, --write-profile, ...): run rolecall assume for those. If another
tool already owns the name assume (granted does), pick another with --name.`,
		Example: `  eval "$(rolecall shell-init bash)"
  assume deploy --region eu-west-1
  aws s3 ls
  unassume`,
		ValidArgs: []string{"bash", "zsh", "fish", "powershell"},
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErrorf("rolecall shell-init bash|zsh|fish|powershell", "shell-init needs one shell name")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Shell = args[0]
			if runF != nil {
				return runF(opts)
			}
			return shellInitRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Name, "name", "assume", "name of the function that assumes a role")
	return cmd
}

func shellInitRun(opts *ShellInitOptions) error {
	script, err := shellInitScript(opts.Shell, opts.Name)
	if err != nil {
		return err
	}
	_, err = opts.IO.Out.Write(script)
	return err
}

// shellInitScript renders the functions for shell. Everything shell-specific
// about the credentials (names, quoting) stays in pkg/format: the functions
// evaluate what `rolecall assume -f <format>` prints and read back only the
// variable names, which come from format.EnvVars.
func shellInitScript(shell, name string) ([]byte, error) {
	if alias, ok := shellInitAliases[shell]; ok {
		shell = alias
	}
	sh, ok := shellInitShells[shell]
	if !ok {
		return nil, usageErrorf("rolecall shell-init bash|zsh|fish|powershell", "unknown shell %q", shell)
	}
	if !isShellFunctionName(name) || name == "unassume" || name == "rolecall" {
		return nil, usageErrorf("pick a name of letters, digits, _ and -, other than rolecall and unassume", "--name %q cannot be a function name", name)
	}
	credVars, restoredVars := shellInitVarNames()
	data := shellInitData{
		Shell:        shell,
		Name:         name,
		Format:       string(sh.format),
		RCFile:       sh.rcFile,
		RCLine:       sh.rcLine,
		MarkerEnv:    shellInitEnv,
		CredVars:     credVars,
		RestoredVars: restoredVars,
		OuterVars:    format.EndpointRestoredVars(),
		OuterPrefix:  format.OuterPrefix,
		ValueFlags:   assumeValueFlags(),
	}
	var b bytes.Buffer
	if err := shellInitTemplates().ExecuteTemplate(&b, shell, data); err != nil {
		return nil, fmt.Errorf("render shell-init %s: %w", shell, err)
	}
	return b.Bytes(), nil
}

type shellInitData struct {
	Shell, Name, Format, RCFile, RCLine string
	// MarkerEnv is set, to Format, for the rolecall assume the function
	// runs (see shellInitEnv).
	MarkerEnv string
	// CredVars are always replaced by assume and removed by unassume.
	CredVars []string
	// RestoredVars are those assume may change that the user may have set
	// before: the region (set only when the role has one) and the profile
	// selection (always unset, see format.ProfileEnvVars). A value they had
	// before is saved (in an unexported shell variable) and put back by
	// unassume.
	RestoredVars []string
	// OuterVars are what the exports of `rolecall serve` may replace, each
	// recorded in OuterPrefix+NAME ("x" + its old value, or
	// format.OuterUnset); unassume puts them back, and assume runs
	// rolecall as if it had.
	OuterVars   []string
	OuterPrefix string
	// ValueFlags are assume's flags that take a value, so that the function
	// can find the role among its arguments for ROLECALL_ROLE.
	ValueFlags []string
}

// shellInitVarNames splits the variables a shell format changes into the
// credentials and those a user may have set before (the region and the
// profile selection), asking pkg/format rather than repeating it.
func shellInitVarNames() (credVars, restoredVars []string) {
	full := creds.Credentials{AccessKeyID: "x", SecretAccessKey: "x", SessionToken: "x", Expiration: time.Unix(1, 0)}
	for _, v := range format.EnvVars(full, format.Options{}) {
		credVars = append(credVars, v.Name)
	}
	for _, v := range format.EnvVars(full, format.Options{Region: "x"}) {
		if !slices.Contains(credVars, v.Name) {
			restoredVars = append(restoredVars, v.Name)
		}
	}
	return credVars, append(restoredVars, format.ProfileEnvVars()...)
}

// assumeValueFlags lists assume's flags that take a value (--profile,
// -f, …), its own and those it inherits from the root, from the command
// tree itself so the list cannot fall behind it.
func assumeValueFlags() []string {
	var names []string
	assumeCmd, _, err := NewCmdRoot(&IO{}).Find([]string{"assume"})
	if err != nil {
		panic(fmt.Sprintf("shell-init: no assume command: %v", err)) // a programming error, caught by the tests
	}
	visit := func(f *pflag.Flag) {
		if f.NoOptDefVal != "" { // a bool flag: it takes no separate value
			return
		}
		names = append(names, "--"+f.Name)
		if f.Shorthand != "" {
			names = append(names, "-"+f.Shorthand)
		}
	}
	assumeCmd.LocalFlags().VisitAll(visit)
	assumeCmd.InheritedFlags().VisitAll(visit)
	slices.Sort(names)
	return names
}

// The functions. What they guarantee, in every shell:
//   - rolecall's output is evaluated only when rolecall exited 0, so a
//     failure (or an MFA prompt given up) leaves the shell exactly as it was;
//   - only this shell's exports are evaluated: rolecall runs with
//     ROLECALL_SHELL_INIT set to the format, and refuses flags that would
//     print anything else (checkShellInitAssume); its help goes to stderr,
//     and empty output changes nothing;
//   - rolecall runs as if after unassume: the credentials of a role assumed
//     earlier are hidden from it, so `assume B` after `assume A` gives B from
//     the configured base credentials, the same as in a fresh shell, instead
//     of silently chaining from A;
//   - ROLECALL_SET_VARS (an unexported shell variable) names what assume
//     set, so unassume removes only that; a region or profile selection the
//     user had set is put back (and rolecall sees it again on the next
//     assume). Credentials from before assume are never saved: a copy would
//     be one more place for a long-term key to leak from.
//
// The POSIX text runs in bash (3.2 up, as macOS ships) and zsh alike: no
// arrays, no ${!name}, and loops over literal words only (zsh does not
// split unquoted parameters). A saved region is stored as "x" + value (""
// when it was unset); not "=" + value, which zsh would take for an
// =command path expansion.
//
// Parsed on first use, not at init: every other command (a cache hit above
// all) would pay for it at start-up.
var shellInitTemplates = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("").Funcs(template.FuncMap{
		"join": strings.Join,
		"psList": func(names []string) string {
			q := make([]string, len(names))
			for i, n := range names {
				q[i] = "'" + n + "'"
			}
			return strings.Join(q, ", ")
		},
	}).Parse(`
{{- define "posix" -}}
# rolecall shell integration for {{.Shell}}. In {{.RCFile}}:
#   {{.RCLine}}
# {{.Name}} ROLE [flags]  set a role's credentials in this shell (rolecall assume)
# unassume              remove them, and put back the profile or region they replaced
{{.Name}}() {
  local __rolecall_out __rolecall_n __rolecall_v __rolecall_role= __rolecall_skip=
  # In a subshell: a failure changes nothing here. {{.MarkerEnv}} makes
  # rolecall refuse flags that would print anything but these exports.
  __rolecall_out="$(unassume; {{.MarkerEnv}}={{.Format}} command rolecall assume -f {{.Format}} "$@")" || return
  # Nothing to set (--help, which went to stderr).
  [ -n "$__rolecall_out" ] || return 0
  unassume
  for __rolecall_n in {{join .RestoredVars " "}}; do
    eval "__rolecall_saved_$__rolecall_n=\${$__rolecall_n+x}\${$__rolecall_n-}"
  done
  eval "$__rolecall_out" || return
  ROLECALL_SET_VARS=
  for __rolecall_n in {{join .CredVars " "}}; do
    eval "__rolecall_v=\${$__rolecall_n+set}"
    [ -z "$__rolecall_v" ] || ROLECALL_SET_VARS="$ROLECALL_SET_VARS $__rolecall_n"
  done
  for __rolecall_n in {{join .RestoredVars " "}}; do
    eval "__rolecall_v=\${$__rolecall_n+x}\${$__rolecall_n-}"
    if eval "[ \"\$__rolecall_v\" = \"\$__rolecall_saved_$__rolecall_n\" ]"; then
      unset "__rolecall_saved_$__rolecall_n"
    else
      ROLECALL_SET_VARS="$ROLECALL_SET_VARS $__rolecall_n"
    fi
  done
  for __rolecall_n in "$@"; do
    if [ -n "$__rolecall_skip" ]; then __rolecall_skip=; continue; fi
    case $__rolecall_n in
      {{join .ValueFlags "|"}}) __rolecall_skip=1 ;;
      -*) ;;
      *) __rolecall_role=$__rolecall_n ;;
    esac
  done
  export ROLECALL_ROLE="$__rolecall_role"
}
unassume() {
  local __rolecall_n __rolecall_v
  # What rolecall serve's exports replaced (see format.EndpointRestoredVars).
  for __rolecall_n in {{join .OuterVars " "}}; do
    eval "__rolecall_v=\${{"{"}}{{.OuterPrefix}}$__rolecall_n-}"
    [ -n "$__rolecall_v" ] || continue
    case $__rolecall_v in
      x*) export "$__rolecall_n=${__rolecall_v#x}" ;;
      *) unset "$__rolecall_n" ;;
    esac
    unset "{{.OuterPrefix}}$__rolecall_n"
  done
  [ -n "${ROLECALL_SET_VARS-}" ] || return 0
  for __rolecall_n in {{join .CredVars " "}} {{join .RestoredVars " "}}; do
    case " $ROLECALL_SET_VARS " in *" $__rolecall_n "*) ;; *) continue ;; esac
    eval "__rolecall_v=\${__rolecall_saved_$__rolecall_n-}"
    case $__rolecall_v in
      x*) export "$__rolecall_n=${__rolecall_v#x}" ;;
      *) unset "$__rolecall_n" ;;
    esac
    unset "__rolecall_saved_$__rolecall_n"
  done
  unset ROLECALL_SET_VARS ROLECALL_ROLE
}
{{end -}}

{{- define "bash"}}{{template "posix" .}}{{end -}}
{{- define "zsh"}}{{template "posix" .}}{{end -}}

{{- define "fish" -}}
# rolecall shell integration for fish. In {{.RCFile}}:
#   {{.RCLine}}
# {{.Name}} ROLE [flags]  set a role's credentials in this shell (rolecall assume)
# unassume              remove them, and put back the profile or region they replaced
function {{.Name}} --description "Set an AWS role's credentials in this shell (rolecall)"
    # fish has no subshell: env runs rolecall as if after unassume.
    set -l unset_args
    set -l set_args
    for n in {{join .OuterVars " "}}
        set -l outer {{.OuterPrefix}}$n
        set -q $outer; or continue
        set -a unset_args -u $outer
        switch "$$outer"
            case 'x*'
                set -l v (string sub -s 2 -- "$$outer")
                set -a set_args "$n=$v"
            case '*'
                set -a unset_args -u $n
        end
    end
    for n in $ROLECALL_SET_VARS
        set -l saved __rolecall_saved_$n
        if set -q $saved
            set -a set_args "$n=$$saved"
        else
            set -a unset_args -u $n
        end
    end
    # {{.MarkerEnv}}: rolecall refuses flags that would print anything but
    # these exports.
    set -l out (command env $unset_args $set_args {{.MarkerEnv}}={{.Format}} rolecall assume -f {{.Format}} $argv)
    or return
    # Nothing to set (--help, which went to stderr).
    set -q out[1]; or return 0
    unassume
    for n in {{join .RestoredVars " "}}
        if set -q $n
            set -g __rolecall_saved_$n $$n
        end
    end
    string join \n -- $out | source
    or return
    set -g ROLECALL_SET_VARS
    for n in {{join .CredVars " "}}
        if set -q $n
            set -a ROLECALL_SET_VARS $n
        end
    end
    for n in {{join .RestoredVars " "}}
        set -l saved __rolecall_saved_$n
        if set -q $n; and set -q $saved; and test "$$n" = "$$saved"
            set -e $saved
        else if set -q $n; or set -q $saved
            set -a ROLECALL_SET_VARS $n
        end
    end
    set -l role
    set -l skip 0
    for a in $argv
        if test $skip = 1
            set skip 0
            continue
        end
        switch $a
            case {{join .ValueFlags " "}}
                set skip 1
            case '-*'
            case '*'
                set role $a
        end
    end
    set -gx ROLECALL_ROLE $role
end
function unassume --description 'Remove the AWS role credentials assume set (rolecall)'
    for n in {{join .OuterVars " "}}
        set -l outer {{.OuterPrefix}}$n
        set -q $outer; or continue
        switch "$$outer"
            case 'x*'
                set -l v (string sub -s 2 -- "$$outer")
                set -gx $n $v
            case '*'
                set -e $n
        end
        set -e $outer
    end
    set -q ROLECALL_SET_VARS; or return 0
    for n in $ROLECALL_SET_VARS
        set -l saved __rolecall_saved_$n
        if set -q $saved
            set -gx $n $$saved
            set -e $saved
        else
            set -e $n
        end
    end
    set -e ROLECALL_SET_VARS
    set -e ROLECALL_ROLE
end
{{end -}}

{{- define "powershell" -}}
# rolecall shell integration for PowerShell. In {{.RCFile}}:
#   {{.RCLine}}
# {{.Name}} ROLE [flags]  set a role's credentials in this session (rolecall assume)
# unassume              remove them, and put back the profile or region they replaced
function global:{{.Name}} {
    # rolecall runs as if after unassume, with {{.MarkerEnv}} (it refuses
    # flags that would print anything but these statements); the session is
    # restored whatever happens.
    if ($null -eq $global:__rolecall_saved) { $global:__rolecall_saved = @{} }
    $hidden = @{}
    # Not @(...): @($null) is an array holding $null; foreach skips a $null.
    foreach ($n in $global:ROLECALL_SET_VARS) {
        $hidden[$n] = [Environment]::GetEnvironmentVariable($n)
        [Environment]::SetEnvironmentVariable($n, $global:__rolecall_saved[$n])
    }
    foreach ($n in @({{psList .OuterVars}})) {
        $outer = [Environment]::GetEnvironmentVariable('{{.OuterPrefix}}' + $n)
        if ($null -eq $outer -or $hidden.ContainsKey($n)) { continue }
        $hidden[$n] = [Environment]::GetEnvironmentVariable($n)
        $v = $null
        if ($outer.StartsWith('x')) { $v = $outer.Substring(1) }
        [Environment]::SetEnvironmentVariable($n, $v)
    }
    try {
        $Env:{{.MarkerEnv}} = '{{.Format}}'
        $rolecall = Get-Command -Name rolecall -CommandType Application -ErrorAction Stop | Select-Object -First 1
        $out = & $rolecall assume -f {{.Format}} @args
        $code = $LASTEXITCODE
    } finally {
        $Env:{{.MarkerEnv}} = $null
        foreach ($n in $hidden.Keys) { [Environment]::SetEnvironmentVariable($n, $hidden[$n]) }
    }
    if ($code -ne 0) { $global:LASTEXITCODE = $code; return }
    # Nothing to set (--help, which went to stderr).
    if (-not $out) { return }
    unassume
    $global:__rolecall_saved = @{}
    foreach ($n in @({{psList .RestoredVars}})) {
        $global:__rolecall_saved[$n] = [Environment]::GetEnvironmentVariable($n)
    }
    Invoke-Expression (@($out) -join "` + "`" + `n")
    $global:ROLECALL_SET_VARS = @()
    foreach ($n in @({{psList .CredVars}})) {
        if ($null -ne [Environment]::GetEnvironmentVariable($n)) { $global:ROLECALL_SET_VARS += $n }
    }
    foreach ($n in @({{psList .RestoredVars}})) {
        if ([Environment]::GetEnvironmentVariable($n) -cne $global:__rolecall_saved[$n]) {
            $global:ROLECALL_SET_VARS += $n
        } else {
            $global:__rolecall_saved.Remove($n)
        }
    }
    $role = $null
    $skip = $false
    foreach ($a in $args) {
        if ($skip) { $skip = $false; continue }
        if (@({{psList .ValueFlags}}) -ccontains $a) { $skip = $true }
        elseif (-not "$a".StartsWith('-')) { $role = "$a" }
    }
    $Env:ROLECALL_ROLE = $role
}
function global:unassume {
    foreach ($n in @({{psList .OuterVars}})) {
        $outer = [Environment]::GetEnvironmentVariable('{{.OuterPrefix}}' + $n)
        if ($null -eq $outer) { continue }
        $v = $null
        if ($outer.StartsWith('x')) { $v = $outer.Substring(1) }
        [Environment]::SetEnvironmentVariable($n, $v)
        [Environment]::SetEnvironmentVariable('{{.OuterPrefix}}' + $n, $null)
    }
    if ($null -eq $global:ROLECALL_SET_VARS) { return }
    foreach ($n in $global:ROLECALL_SET_VARS) {
        $v = $null
        if ($null -ne $global:__rolecall_saved) { $v = $global:__rolecall_saved[$n] }
        [Environment]::SetEnvironmentVariable($n, $v)
    }
    $global:__rolecall_saved = @{}
    Remove-Variable -Name ROLECALL_SET_VARS -Scope Global -ErrorAction SilentlyContinue
    $Env:ROLECALL_ROLE = $null
}
{{end -}}
`))
})

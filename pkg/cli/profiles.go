package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/rolecall/rolecall/pkg/assume"
	"github.com/rolecall/rolecall/pkg/cache"
)

// ProfilesOptions are the dependencies and flag values of `rolecall
// profiles`.
type ProfilesOptions struct {
	IO *IO

	Filter        string
	Account       string
	Role          string
	Format        string
	CacheDir      string
	RefreshWindow time.Duration
}

// NewCmdProfiles builds `rolecall profiles`. runF replaces the run function
// in flag tests.
func NewCmdProfiles(io *IO, runF func(context.Context, *ProfilesOptions) error) *cobra.Command {
	opts := &ProfilesOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "profiles [FILTER]",
		Short: "List the profiles of the AWS config files: kind, account, role, source, region, MFA, time left",
		Long: `List every profile of the AWS config and credentials files, one row each:
its name, what it is (keys, role, sso, web-identity, process, settings), the
account and role it reaches, the chain in front of it (VIA), its region,
whether MFA is needed, and the time left on the cached credentials that
'rolecall assume PROFILE' would use now ("none" when it would call STS,
"sign-in" when its IAM Identity Center session needs 'rolecall login').

FILTER keeps the profiles whose name, account or role contains it (any case).
It reads the files and the cache only: no network, no credential_process,
no prompt. -f json prints every column.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Filter = args[0]
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return profilesRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Account, "account", "", "only profiles reaching this account ID (or part of it)")
	fl.StringVar(&opts.Role, "role", "", "only profiles whose role name contains this (any case)")
	fl.StringVarP(&opts.Format, "format", "f", "table", "output format: table or json")
	fl.StringVar(&opts.CacheDir, "cache-dir", "", "cache directory (default: ROLECALL_CACHE_DIR, then the user cache dir + /rolecall)")
	fl.DurationVar(&opts.RefreshWindow, "refresh-window", cache.DefaultRefreshWindow, "count cached credentials only with more than this left, as assume does")
	return cmd
}

func profilesRun(ctx context.Context, opts *ProfilesOptions) error {
	io := opts.IO
	if opts.Format != "table" && opts.Format != "json" {
		return usageErrorf("pass -f table or -f json", "-f %q is neither table nor json", opts.Format)
	}
	list, err := surveyProfiles(ctx, io, opts.CacheDir, opts.RefreshWindow)
	if err != nil {
		return err
	}
	list = filterProfiles(list, opts.Filter, opts.Account, opts.Role)
	var out bytes.Buffer
	if opts.Format == "json" {
		err = writeProfilesJSON(&out, list, io.Now())
	} else {
		err = writeProfilesTable(&out, list, io.Now())
	}
	if err != nil {
		return err
	}
	_, err = io.Out.Write(out.Bytes())
	return err
}

// surveyProfiles describes every profile as `rolecall assume PROFILE` with
// default flags would take it. A cache directory that does not exist holds
// nothing, and looking must not create it.
func surveyProfiles(ctx context.Context, io *IO, cacheDir string, window time.Duration) ([]assume.ProfileStatus, error) {
	req := assume.Request{
		CacheDir:      cacheDir,
		RefreshWindow: window,
		MFASessionTTL: assume.DefaultMFASessionDuration,
		Timeout:       time.Minute,
	}
	dir := cacheDir
	if dir == "" {
		dir, _ = cache.DefaultDir(io.Getenv)
	}
	if _, err := os.Stat(dir); dir == "" || errors.Is(err, fs.ErrNotExist) {
		req.NoCache = true
	}
	env := assume.Env{Getenv: io.Getenv, Environ: io.Environ, HomeDir: io.HomeDir, Now: io.Now, Warn: io.warnOnce, Trace: io.Debugf}
	return assume.SurveyProfiles(ctx, req, env)
}

// filterProfiles keeps the profiles that match every filter given.
func filterProfiles(list []assume.ProfileStatus, filter, account, role string) []assume.ProfileStatus {
	filter, role = strings.ToLower(filter), strings.ToLower(role)
	out := list[:0:0]
	for _, p := range list {
		if filter != "" && !strings.Contains(strings.ToLower(p.Name), filter) &&
			!strings.Contains(p.AccountID, filter) && !strings.Contains(strings.ToLower(p.RoleName), filter) {
			continue
		}
		if account != "" && !strings.Contains(p.AccountID, account) {
			continue
		}
		if role != "" && !strings.Contains(strings.ToLower(p.RoleName), role) {
			continue
		}
		out = append(out, p)
	}
	return out
}

// timeLeft is the LEFT column: the time on the cached credentials assume
// would use, "none" when it would fetch new ones, "sign-in" when the IAM
// Identity Center session needs one, "error" when the profile is wrong,
// "-" for a profile with no role to assume (a keychain profile has its
// session: assume --profile NAME).
func timeLeft(p assume.ProfileStatus, now time.Time) string {
	switch {
	case p.Err != nil:
		return "error"
	case p.SignInRequired:
		return "sign-in"
	case !p.Assumable() && p.Kind != assume.ProfileKeychain:
		return "-"
	case p.Expires.IsZero() || !p.Expires.After(now):
		return "none"
	}
	return shortDuration(p.Expires.Sub(now))
}

// shortDuration is 42m, 3h05m: what a person reads at a glance.
func shortDuration(d time.Duration) string {
	m := int(d / time.Minute)
	if m < 60 {
		return fmt.Sprintf("%dm", m)
	}
	return fmt.Sprintf("%dh%02dm", m/60, m%60)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "-"
}

// writeProfilesTable writes the profiles for a person. Every value is
// escaped: names and settings come from files.
func writeProfilesTable(w *bytes.Buffer, list []assume.ProfileStatus, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROFILE\tKIND\tACCOUNT\tROLE\tVIA\tREGION\tMFA\tLEFT")
	for _, p := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", escapeControl(p.Name), p.Kind, escapeControl(dash(p.AccountID)),
			escapeControl(dash(p.RoleName)), escapeControl(dash(p.Via)), escapeControl(dash(p.Region)), yesNo(p.MFA), timeLeft(p, now))
	}
	return tw.Flush()
}

// profileJSON is one profile in `profiles -f json`: every column.
type profileJSON struct {
	Name           string     `json:"name"`
	Kind           string     `json:"kind"`
	Account        string     `json:"account,omitempty"`
	Role           string     `json:"role,omitempty"`
	RoleARN        string     `json:"role_arn,omitempty"`
	Via            string     `json:"via,omitempty"`
	Region         string     `json:"region,omitempty"`
	MFA            bool       `json:"mfa"`
	Left           string     `json:"left"`
	SecondsLeft    int64      `json:"seconds_left"`
	Expiration     *time.Time `json:"expiration,omitempty"`
	SignInRequired bool       `json:"sign_in_required,omitempty"`
	Error          string     `json:"error,omitempty"`
}

func writeProfilesJSON(w *bytes.Buffer, list []assume.ProfileStatus, now time.Time) error {
	rows := make([]profileJSON, 0, len(list))
	for _, p := range list {
		row := profileJSON{
			Name: p.Name, Kind: p.Kind, Account: p.AccountID, Role: p.RoleName, RoleARN: p.RoleARN, Via: p.Via,
			Region: p.Region, MFA: p.MFA, Left: timeLeft(p, now), SignInRequired: p.SignInRequired,
		}
		if !p.Expires.IsZero() && p.Expires.After(now) {
			exp := p.Expires.UTC()
			row.Expiration, row.SecondsLeft = &exp, int64(p.Expires.Sub(now)/time.Second)
		}
		if p.Err != nil {
			_, msg, _ := classify(p.Err)
			row.Error = oneLine(msg)
		}
		rows = append(rows, row)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rows)
}

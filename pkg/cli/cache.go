package cli

import (
	"bytes"
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
	"github.com/rolecall/rolecall/pkg/awsconfig"
	"github.com/rolecall/rolecall/pkg/cache"
)

// NewCmdCache builds `rolecall cache list|clear`.
func NewCmdCache(io *IO) *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "cache list|clear",
		Short: "List or clear cached credentials",
		// Without RunE, cobra answers a mistyped subcommand (cache lst)
		// with the help text and exit 0.
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			return unknownCommand(cmd, args[0])
		},
	}
	cmd.PersistentFlags().StringVar(&dir, "cache-dir", "", "cache directory (default: ROLECALL_CACHE_DIR, then the user cache dir + /rolecall)")

	var listFormat string
	list := &cobra.Command{
		Use:   "list",
		Short: "List cached credentials: role, source, region, session options, expiry, time left (never a secret)",
		Long: `List cached credentials, one row each: the role (as named), the kind of call,
the session name, where the credentials came from (a profile, keys in the
environment, the hop before), the region, what else set this entry apart
(a session policy by the start of its SHA-256, policy ARNs, tags, an external
ID, an MFA device, a duration), when they expire and how long is left.

-f json prints every field of each entry's cache key except secrets (an
external ID only as set, a policy as its SHA-256), and never credentials.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if listFormat != "table" && listFormat != "json" {
				return usageErrorf("pass -f table or -f json", "-f %q is neither table nor json", listFormat)
			}
			// An absent cache is an empty list; looking must not create it.
			store, err := openExistingCache(io, dir)
			if err != nil {
				return err
			}
			var entries []cache.Entry
			if store != nil {
				if entries, err = store.List(); err != nil {
					return withCode(ExitLocal, err, "")
				}
			}
			var out bytes.Buffer
			if listFormat == "json" {
				err = writeCacheJSON(&out, entries, io.Now())
			} else {
				err = writeCacheTable(&out, entries, io.Now())
			}
			if err != nil {
				return err
			}
			_, err = io.Out.Write(out.Bytes())
			return err
		},
	}
	list.Flags().StringVarP(&listFormat, "format", "f", "table", "output format: table or json")

	var all bool
	clearCmd := &cobra.Command{
		Use:   "clear [ROLE]",
		Short: "Remove cached credentials of ROLE (role ARN or profile name: every entry of its role), or --all",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if all == (len(args) == 1) {
				return usageErrorf("rolecall cache clear ROLE, or rolecall cache clear --all", "name one role or pass --all")
			}
			store, err := openExistingCache(io, dir)
			if err != nil {
				return err
			}
			n := 0
			if store != nil {
				roleARN := ""
				if !all {
					roleARN = profileRoleARN(io, args[0])
				}
				n, err = store.Remove(func(e cache.Entry) bool {
					return all || e.Label == args[0] || e.RoleARN == args[0] || roleARN != "" && e.RoleARN == roleARN
				})
				if err != nil {
					return withCode(ExitLocal, err, "")
				}
			}
			switch {
			case n == 0 && all:
				io.Infof("nothing was cached")
			case n == 0:
				// Exit 2, as for any argument that names nothing: a
				// script that clears a role it expects to be cached
				// learns that it was not (a typo, an ARN for a profile).
				return usageErrorf("rolecall cache list shows what is cached, by role ARN or profile name",
					"nothing cached matches %q", args[0])
			default:
				io.Infof("removed %d cached credential(s)", n)
			}
			return nil
		},
	}
	clearCmd.Flags().BoolVar(&all, "all", false, "remove every cached credential, MFA sessions included")
	cmd.AddCommand(list, clearCmd)
	return cmd
}

// openExistingCache opens the cache for the cache command: the --cache-dir
// flag, else the default directory. It returns a nil store, and creates
// nothing, when the directory does not exist.
func openExistingCache(io *IO, dir string) (*cache.Store, error) {
	if dir == "" {
		var err error
		if dir, err = cache.DefaultDir(io.Getenv); err != nil {
			return nil, withCode(ExitLocal, err, "pass --cache-dir")
		}
	}
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		io.Debugf("cache directory %s does not exist: nothing is cached", dir)
		return nil, nil
	}
	store, err := cache.Open(dir, cache.Options{Now: io.Now, Warn: func(msg string) { io.Warnf("%s", msg) }})
	if err != nil {
		return nil, withCode(ExitLocal, err, "")
	}
	return store, nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// profileRoleARN is the role_arn of the profile named name, so that
// clearing a profile also clears the entries its role got when named by
// ARN; "" when there is no such profile or the files cannot be read.
func profileRoleARN(io *IO, name string) string {
	if assume.LooksLikeARN(name) {
		return ""
	}
	cfg, err := awsconfig.Load(awsconfig.DefaultFiles(io.Getenv, io.HomeDir))
	if err != nil {
		io.Debugf("cache clear %s: not matching by role ARN: %v", name, err)
		return ""
	}
	prof, err := cfg.Profile(name)
	if err != nil {
		return ""
	}
	return prof.RoleARN
}

// writeCacheTable writes the entries for a person. Every value is escaped:
// a label comes from a file or a command line.
func writeCacheTable(w *bytes.Buffer, entries []cache.Entry, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ROLE\tKIND\tSESSION\tSOURCE\tREGION\tOPTIONS\tEXPIRES\tLEFT")
	for _, e := range entries {
		left := "expired"
		if d := e.Credentials.Expiration.Sub(now); d > 0 {
			left = d.Round(time.Minute).String()
		}
		source, region, options := "-", "-", "-"
		if r := e.Request; r != nil {
			source, region, options = dash(r.Source), dash(r.Region), dash(strings.Join(entryOptions(r), ","))
		}
		session := e.SessionName
		if e.Kind == cache.KindEKSToken {
			session = "cluster " + e.Cluster
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", escapeControl(e.Label), e.Kind, escapeControl(dash(session)),
			escapeControl(source), escapeControl(region), escapeControl(options),
			e.Credentials.Expiration.Local().Format(time.RFC3339), left)
	}
	return tw.Flush()
}

// entryOptions are what sets an entry apart beyond its role and source, in
// short: policy:SHA (its first 12 hex digits), policy-arn:NAME, tag:K=V,
// transitive:K, external-id, mfa:SERIAL, source-identity:ID, duration:Ns.
// (The STS endpoint, rarely what differs, is in -f json.)
func entryOptions(r *cache.KeyFields) []string {
	var opts []string
	if r.PolicySHA256 != "" {
		opts = append(opts, "policy:"+r.PolicySHA256[:12])
	}
	for _, a := range r.PolicyARNs {
		opts = append(opts, "policy-arn:"+a[strings.LastIndex(a, "/")+1:])
	}
	for _, t := range r.Tags {
		opts = append(opts, "tag:"+t.Key+"="+t.Value)
	}
	for _, k := range r.TransitiveTagKeys {
		opts = append(opts, "transitive:"+k)
	}
	if r.ExternalID {
		opts = append(opts, "external-id")
	}
	if r.MFASerial != "" {
		opts = append(opts, "mfa:"+r.MFASerial)
	}
	if r.SourceIdentity != "" {
		opts = append(opts, "source-identity:"+r.SourceIdentity)
	}
	if r.DurationSeconds != 0 {
		opts = append(opts, fmt.Sprintf("duration:%ds", r.DurationSeconds))
	}
	return opts
}

// cacheListEntry is one entry in cache list -f json: never a secret, and
// no credentials at all.
type cacheListEntry struct {
	Key            string           `json:"key"`
	Label          string           `json:"label"`
	Kind           string           `json:"kind"`
	RoleARN        string           `json:"role_arn,omitempty"`
	SessionName    string           `json:"session_name,omitempty"`
	Cluster        string           `json:"cluster,omitempty"` // an EKS token's (never the token)
	AccessKeyID    string           `json:"access_key_id,omitempty"`
	AssumedRoleARN string           `json:"assumed_role_arn,omitempty"`
	CreatedAt      time.Time        `json:"created_at"`
	Expiration     time.Time        `json:"expiration"`
	SecondsLeft    int64            `json:"seconds_left"`
	Request        *cache.KeyFields `json:"request"`
}

func writeCacheJSON(w *bytes.Buffer, entries []cache.Entry, now time.Time) error {
	list := make([]cacheListEntry, 0, len(entries))
	for _, e := range entries {
		left := int64(e.Credentials.Expiration.Sub(now) / time.Second)
		list = append(list, cacheListEntry{
			Key: e.Key, Label: e.Label, Kind: e.Kind, RoleARN: e.RoleARN, SessionName: e.SessionName, Cluster: e.Cluster,
			AccessKeyID: e.Credentials.AccessKeyID, AssumedRoleARN: e.Credentials.AssumedRoleARN,
			CreatedAt: e.CreatedAt.UTC(), Expiration: e.Credentials.Expiration.UTC(), SecondsLeft: max(left, 0),
			Request: e.Request,
		})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(list)
}

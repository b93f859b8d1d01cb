package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

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

	list := &cobra.Command{
		Use:   "list",
		Short: "List cached credentials: role, session name, expiry, time left (never a secret)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
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
			tw := tabwriter.NewWriter(&out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ROLE\tKIND\tSESSION\tEXPIRES\tLEFT")
			now := io.Now()
			for _, e := range entries {
				left := "expired"
				if d := e.Credentials.Expiration.Sub(now); d > 0 {
					left = d.Round(time.Minute).String()
				}
				session := e.SessionName
				if e.Kind == cache.KindEKSToken {
					session = "cluster " + e.Cluster
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", escapeControl(e.Label), e.Kind, dash(escapeControl(session)),
					e.Credentials.Expiration.Local().Format(time.RFC3339), left)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			_, err = io.Out.Write(out.Bytes())
			return err
		},
	}

	var all bool
	clearCmd := &cobra.Command{
		Use:   "clear [ROLE]",
		Short: "Remove cached credentials of ROLE (role ARN or profile name), or --all",
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
				n, err = store.Remove(func(e cache.Entry) bool {
					return all || e.Label == args[0] || e.RoleARN == args[0]
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

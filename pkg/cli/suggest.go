package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/rolecall/rolecall/pkg/suggest"
)

// flagErrorHint is the hint for a command-line flag error: the nearest
// flag of the command for an unknown one (--regoin: did you mean
// --region?), else where the flags are listed. pflag's error has no type,
// hence its text: "unknown flag: --NAME".
func flagErrorHint(cmd *cobra.Command, err error) string {
	help := fmt.Sprintf("see '%s --help'", cmd.CommandPath())
	name, ok := strings.CutPrefix(err.Error(), "unknown flag: --")
	if !ok {
		return help
	}
	if near := nearestFlag(cmd, name); near != "" {
		return fmt.Sprintf("did you mean --%s? (%s)", near, help)
	}
	return help
}

// nearestFlag is the flag of cmd (its own and inherited) fewest edits from
// name, within a third of its length (at least 2), or one name starts
// with the other; "" when none is that close.
func nearestFlag(cmd *cobra.Command, name string) string {
	name, _, _ = strings.Cut(name, "=")
	best, bestDist := "", -1
	consider := func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		d := suggest.EditDistance(name, f.Name)
		if len(name) >= 3 && (strings.HasPrefix(f.Name, name) || strings.HasPrefix(name, f.Name)) {
			d = min(d, 1)
		}
		if d <= max(2, len(f.Name)/3) && (bestDist < 0 || d < bestDist) {
			best, bestDist = f.Name, d
		}
	}
	cmd.Flags().VisitAll(consider)
	cmd.InheritedFlags().VisitAll(consider)
	return best
}

package cli

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"

	"github.com/rolecall/rolecall/pkg/assume"
	"github.com/rolecall/rolecall/pkg/awsconfig"
	"github.com/rolecall/rolecall/pkg/cache"
	"github.com/rolecall/rolecall/pkg/picker"
)

// ExitCancelled is a pick cancelled with Esc or Ctrl-C: 130, as for an
// interrupt (128 + SIGINT), so a shell script stops as it would on Ctrl-C.
const ExitCancelled = 130

// pickRole asks the person for the role when the command line names none,
// and returns the profile picked, or "" when there is nobody to ask or
// something already names the credentials (--profile, AWS_PROFILE, a web
// identity flag): the command then does what it does today. The picker
// only chooses the ROLE argument; the credentials are obtained by the
// normal path afterwards.
func pickRole(ctx context.Context, io *IO, f *requestFlags) (string, error) {
	r := &f.Request
	if r.Profile != "" || r.WebIdentity != (assume.WebIdentityFlags{Audience: r.WebIdentity.Audience}) || f.NoPrompt || io.Getenv("CI") != "" ||
		runtime.GOOS == "windows" {
		return "", nil
	}
	if name, _ := awsconfig.EnvProfile(io.Getenv); name != "" {
		return "", nil
	}
	// A person at a terminal: stdin or stderr is one, and /dev/tty opens.
	// (stdout is the eval's pipe in eval "$(rolecall assume)".)
	in, _ := io.In.(*os.File)
	if !io.ErrIsTerminal && (in == nil || !isTerminal(in)) {
		return "", nil
	}
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		io.Debugf("no picker: %v", err)
		return "", nil
	}
	defer func() { _ = tty.Close() }()

	list, err := surveyProfiles(ctx, io, r.CacheDir, r.RefreshWindow)
	if err != nil {
		return "", err
	}
	now := io.Now()
	var rows []picker.Row
	for _, p := range list {
		if p.Assumable() {
			rows = append(rows, picker.Row{Name: escapeControl(p.Name), Cells: []string{
				dash(p.AccountID), escapeControl(dash(p.RoleName)), escapeControl(dash(p.Region)), timeLeft(p, now)}})
		}
	}
	if len(rows) == 0 {
		return "", nil
	}
	history := historyPath(io, r.CacheDir)
	if history != "" {
		picker.LoadHistory(history).Order(rows, now)
	}
	name, err := picker.Run(ctx, tty, "role> ", rows)
	if errors.Is(err, picker.ErrCancelled) {
		return "", withCode(ExitCancelled, errors.New("no role picked: cancelled"), "")
	}
	if err != nil {
		return "", err
	}
	// The row's name was escaped for the screen: take the profile's own.
	for _, p := range list {
		if escapeControl(p.Name) == name {
			name = p.Name
			break
		}
	}
	if history != "" {
		if err := os.MkdirAll(filepath.Dir(history), 0o700); err == nil {
			err = picker.Record(ctx, history, name, now, r.Timeout)
			if err != nil {
				io.Warnf("remember the pick: %v", err)
			}
		}
	}
	io.Infof("picked %s", name)
	return name, nil
}

// historyPath is the picker's history beside the credential cache, ""
// when there is no cache directory.
func historyPath(io *IO, cacheDir string) string {
	if cacheDir == "" {
		var err error
		if cacheDir, err = cache.DefaultDir(io.Getenv); err != nil {
			return ""
		}
	}
	return filepath.Join(cacheDir, picker.HistoryFile)
}

// pickedRoles is args, or the role the person picks when args is empty.
func pickedRoles(ctx context.Context, io *IO, f *requestFlags, args []string) ([]string, error) {
	if len(args) > 0 {
		return args, nil
	}
	name, err := pickRole(ctx, io, f)
	if err != nil || name == "" {
		return args, err
	}
	return []string{name}, nil
}

package sso

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"time"

	"github.com/rolecall/rolecall/pkg/safefile"
)

// SignInOnce is sign-in on demand (--auto-login): it returns a valid token
// for the session, asking a person to sign in only when no process has
// done so meanwhile. However many processes find the token missing or
// expired at once, one signs in: each takes the session's sign-in lock
// (the token file's name + ".signin.lock"), waiting at most timeout and no
// longer than ctx; the first to hold it finds no valid token and runs the
// login flow; the others, once it lets go, find the new token and use it.
// A process that gives up (ctx ends: Ctrl-C, the SDK's own timeout, a dead
// parent) releases the lock on the way out, and the next one signs in.
func (c *Client) SignInOnce(ctx context.Context, s Session, opt LoginOptions, timeout time.Duration) (Token, error) {
	path := TokenPath(c.Env.HomeDir, s)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return Token{}, err
	}
	lock, err := safefile.Acquire(ctx, path+".signin.lock", timeout)
	if err != nil {
		return Token{}, err
	}
	defer lock.Release()
	if t, err := LoadToken(c.Env.HomeDir, s); err == nil {
		fresh, err := c.Freshen(ctx, s, t)
		var lr *LoginRequiredError
		switch {
		case err == nil:
			c.Env.trace("%s: signed in by another process meanwhile", s)
			return fresh, nil
		case !errors.As(err, &lr):
			return Token{}, err
		}
	}
	opt.notify("sign-in required for %s: starting it (--auto-login)", s)
	return c.Login(ctx, s, opt)
}

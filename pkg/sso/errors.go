package sso

import (
	"fmt"
)

// ConfigError is a problem with the AWS config file or the command line's
// choice of session. Usage marks one the command line caused.
type ConfigError struct {
	Err   error
	Hint  string
	Usage bool
}

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// LoginRequiredError is a session without a usable token: never signed in,
// signed out, expired and not refreshable, or refused by the portal. A
// person has to sign in again.
type LoginRequiredError struct {
	Session Session
	// Reason says what is wrong with the token, in a few words.
	Reason string
	Err    error
	// AutoLoginOff: a person could have been asked to sign in, and
	// sign-in on demand (--auto-login) was off. The hint then says so.
	AutoLoginOff bool
}

func (e *LoginRequiredError) Error() string {
	msg := e.Session.String() + ": " + e.Reason
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *LoginRequiredError) Unwrap() error { return e.Err }

// Hint says how to sign in.
func (e *LoginRequiredError) Hint() string {
	if e.AutoLoginOff {
		return "run " + e.Session.LoginCommand() + ", or pass --auto-login to sign in when needed"
	}
	return "run " + e.Session.LoginCommand()
}

// Why a login did not complete.
const (
	// LoginDenied: the person refused in the browser.
	LoginDenied = "denied"
	// LoginExpired: the device or authorization code expired before the
	// person approved it.
	LoginExpired = "expired"
	// LoginTimedOut: --timeout passed while waiting for the person.
	LoginTimedOut = "timed out"
)

// LoginError is a login that did not complete.
type LoginError struct {
	Session Session
	Reason  string // LoginDenied, LoginExpired or LoginTimedOut
	Err     error
}

func (e *LoginError) Error() string {
	switch e.Reason {
	case LoginDenied:
		return "sign-in to " + e.Session.String() + " was denied in the browser"
	case LoginExpired:
		return "sign-in to " + e.Session.String() + " expired before it was approved"
	}
	return "timed out waiting for the sign-in to " + e.Session.String() + " to be approved in the browser"
}

func (e *LoginError) Unwrap() error { return e.Err }

// NoAccessError is the portal refusing a role: the user has no assignment
// of that permission set in that account.
type NoAccessError struct {
	Session   Session
	AccountID string
	RoleName  string
	Err       error
}

func (e *NoAccessError) Error() string {
	return fmt.Sprintf("the user signed in to %s has no access to role %s in account %s", e.Session, e.RoleName, e.AccountID)
}

func (e *NoAccessError) Unwrap() error { return e.Err }

// Hint says how to find what the user can reach.
func (e *NoAccessError) Hint() string {
	ref := "--profile " + e.Session.Profile
	if e.Session.Name != "" {
		ref = "--sso-session " + e.Session.Name
	}
	return "check sso_account_id and sso_role_name; list the accounts and roles you can reach with: rolecall sso accounts " + ref
}

// CallError is an IAM Identity Center call (OIDC or portal) that failed
// for another reason: the service's answer, or no answer at all.
type CallError struct {
	// Service is "sso-oidc" or "sso" (the portal).
	Service string
	Action  string
	Err     error
}

func (e *CallError) Error() string { return e.Action + ": " + e.Err.Error() }
func (e *CallError) Unwrap() error { return e.Err }

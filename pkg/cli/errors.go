package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"unicode"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	"github.com/fatih/color"

	"github.com/rolecall/rolecall/pkg/assume"
	"github.com/rolecall/rolecall/pkg/awsconfig"
	"github.com/rolecall/rolecall/pkg/console"
	"github.com/rolecall/rolecall/pkg/eks"
	"github.com/rolecall/rolecall/pkg/keyring"
	"github.com/rolecall/rolecall/pkg/keys"
	"github.com/rolecall/rolecall/pkg/safefile"
	"github.com/rolecall/rolecall/pkg/sso"
	"github.com/rolecall/rolecall/pkg/stshttp"
)

// Exit codes. Documented in docs/exit-codes.md; scripts rely on them, so a
// code never changes meaning.
const (
	ExitOK          = 0
	ExitInternal    = 1 // a bug or an unclassified failure
	ExitUsage       = 2 // bad flags or arguments; fix the command line
	ExitConfig      = 3 // the AWS config or credentials file, or a profile in it
	ExitRefused     = 4 // STS answered and said no
	ExitUnreachable = 5 // STS could not be reached or kept failing (network, 5xx, throttling, timeout)
	ExitNeedsPerson = 6 // a person was needed: an MFA code with no way to prompt, or an IAM Identity Center sign-in
	ExitLocal       = 7 // a local file: a lock timeout, a section or profile rolecall may not overwrite
)

// exitError carries the exit code and an optional hint to the one printer.
type exitError struct {
	code int
	err  error
	hint string
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func withCode(code int, err error, hint string) error {
	if err == nil {
		return nil
	}
	return &exitError{code: code, err: err, hint: hint}
}

func usageErrorf(hint, format string, args ...any) error {
	return withCode(ExitUsage, fmt.Errorf(format, args...), hint)
}

// printError writes err as "rolecall: error: …" plus a hint, and returns the
// exit code. It is the only place that reports errors. The request ID of an
// STS error goes to the debug trace, not here.
func printError(w io.Writer, colored bool, err error, debug func(string, ...any)) int {
	code, msg, hint := classify(err)
	if debug != nil {
		var re *awshttp.ResponseError
		if errors.As(err, &re) && re.ServiceRequestID() != "" {
			debug("sts request id %s", re.ServiceRequestID())
		}
	}
	label, hintLabel := "error:", "hint:"
	if colored {
		label = paint(label, color.FgRed, color.Bold)
		hintLabel = paint(hintLabel, color.FgYellow)
	}
	fmt.Fprintf(w, "rolecall: %s %s\n", label, oneLine(msg))
	if hint != "" {
		fmt.Fprintf(w, "rolecall: %s %s\n", hintLabel, oneLine(hint))
	}
	return code
}

// classify picks the exit code, the message and the hint for err.
func classify(err error) (code int, msg, hint string) {
	var ee *exitError
	if errors.As(err, &ee) {
		code, hint = ee.code, ee.hint
	}
	msg = err.Error()

	var apiErr smithy.APIError
	var usageErr *assume.UsageError
	var configErr *assume.ConfigError
	var recursionErr *assume.RecursionError
	var tokenErr *assume.TokenFetchError
	var inputErr *assume.InputError
	var needsPerson *assume.NeedsPersonError
	var lockErr *safefile.LockTimeoutError
	var outOfTime *safefile.OutOfTimeError
	var sourceErr *assume.SourceError
	var tooLarge *stshttp.BodyTooLargeError
	var garbled *smithy.DeserializationError
	var unusable *assume.UnusableAnswerError
	var clusterErr *eks.ClusterError
	var execInfoErr *eks.ExecInfoError
	var kubeLocked *eks.KubeconfigLockedError
	var callErr *assume.CallError
	var federationErr *console.FederationError
	var ssoConfig *sso.ConfigError
	var loginRequired *sso.LoginRequiredError
	var loginErr *sso.LoginError
	var noAccess *sso.NoAccessError
	var ssoCall *sso.CallError
	var syntaxErr *awsconfig.SyntaxError
	var lockFileErr *safefile.LockError
	var keyringDown *keyring.UnavailableError
	var badItem *keyring.InvalidItemError
	var keysErr *keys.ErrorHint
	var twoKeys *keys.TwoKeysError
	var iamErr *keys.IAMError
	switch {
	case errors.As(err, &keysErr):
		if keysErr.Usage {
			return ExitUsage, msg, firstNonEmpty(hint, keysErr.Hint)
		}
		return ExitConfig, msg, firstNonEmpty(hint, keysErr.Hint)
	case errors.As(err, &twoKeys):
		return ExitRefused, msg, firstNonEmpty(hint, twoKeys.Hint())
	case errors.As(err, &iamErr):
		return iamError(iamErr, hint)
	case errors.As(err, &federationErr):
		return federationError(federationErr, hint)
	case errors.As(err, &callErr) && callErr.LastAnswer != nil:
		errors.As(callErr.LastAnswer, &apiErr)
		return ExitUnreachable, fmt.Sprintf("%s %s: timed out while STS kept answering %s: %s", callErr.Action, callErr.Target, apiErr.ErrorCode(), apiErr.ErrorMessage()),
			firstNonEmpty(hint, "STS is throttling or failing: try again later, or raise --timeout")
	case errors.As(err, &usageErr):
		return ExitUsage, msg, firstNonEmpty(hint, usageErr.Hint)
	case errors.As(err, &clusterErr):
		return ExitUsage, msg, firstNonEmpty(hint, "pass --cluster with the cluster's name as EKS shows it (aws eks list-clusters)")
	case errors.As(err, &execInfoErr):
		return ExitUsage, msg, firstNonEmpty(hint, "kubectl sets it for an exec plugin; the kubeconfig user entry's apiVersion must be client.authentication.k8s.io/v1beta1 or v1 (rolecall eks kubeconfig writes one)")
	case errors.As(err, &kubeLocked):
		return ExitLocal, msg, firstNonEmpty(hint, "try again; if no kubectl is running, remove "+kubeLocked.Path)
	case errors.As(err, &configErr):
		return ExitConfig, msg, firstNonEmpty(hint, configErr.Hint)
	case errors.As(err, &recursionErr):
		return ExitConfig, msg, "a profile used as --profile or source_profile must not get its credentials from rolecall for the same role"
	case errors.As(err, &tokenErr):
		if tokenErr.Status == 0 || tokenErr.Status >= 500 || tokenErr.Status == 429 {
			return ExitUnreachable, msg, firstNonEmpty(hint, "the CI's token endpoint did not answer; retry the job")
		}
		return ExitRefused, msg, firstNonEmpty(hint, tokenErr.Hint)
	case stshttp.IsCertificateError(err):
		return ExitUnreachable, msg, firstNonEmpty(hint, "the endpoint's TLS certificate is not trusted: behind a TLS-inspecting proxy, point --ca-bundle or AWS_CA_BUNDLE at its CA")
	case errors.As(err, &ssoConfig):
		if ssoConfig.Usage {
			return ExitUsage, msg, firstNonEmpty(hint, ssoConfig.Hint)
		}
		return ExitConfig, msg, firstNonEmpty(hint, ssoConfig.Hint)
	case errors.As(err, &loginRequired):
		return ExitNeedsPerson, msg, firstNonEmpty(hint, loginRequired.Hint())
	case errors.As(err, &loginErr):
		if loginErr.Reason == sso.LoginDenied {
			return ExitRefused, msg, firstNonEmpty(hint, "run "+loginErr.Session.LoginCommand()+" again and allow the request")
		}
		return ExitNeedsPerson, msg, firstNonEmpty(hint, "run "+loginErr.Session.LoginCommand()+" again and approve it in the browser within --timeout")
	case errors.As(err, &noAccess):
		return ExitRefused, msg, firstNonEmpty(hint, noAccess.Hint())
	case errors.As(err, &ssoCall):
		return ssoCallError(err, ssoCall, hint)
	case errors.As(err, &tooLarge), errors.As(err, &garbled), errors.As(err, &unusable):
		if errors.As(err, &callErr) {
			msg = fmt.Sprintf("%s: %s answered something that is no usable STS answer", strings.TrimSpace(callErr.Action+" "+callErr.Target), callErr.Endpoint)
			switch {
			case unusable != nil:
				msg += ": " + unusable.Error()
			case tooLarge != nil:
				msg += ": " + tooLarge.Error()
			case garbled != nil && garbled.Err != nil:
				msg += ": " + garbled.Err.Error()
			}
		}
		unusableHint := ""
		if unusable != nil {
			unusableHint = unusable.Hint
		}
		return ExitUnreachable, msg, firstNonEmpty(hint, unusableHint, "check that --endpoint-url or AWS_ENDPOINT_URL_STS names an STS endpoint, or try again later")
	case errors.As(err, &syntaxErr):
		// A file the AWS CLI cannot parse is a configuration problem,
		// whichever of the two files it is and whatever rolecall was
		// doing with it (reading, or writing a section).
		return ExitConfig, msg, firstNonEmpty(hint, "fix the file, or point AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE elsewhere")
	case errors.As(err, &lockFileErr):
		return ExitLocal, msg, firstNonEmpty(hint, "remove "+lockFileErr.Path+": rolecall creates its lock files itself")
	case errors.As(err, &keyringDown) && !errors.As(err, &sourceErr):
		return ExitConfig, msg, firstNonEmpty(hint, keyringDown.Hint())
	case errors.As(err, &badItem) && !errors.As(err, &sourceErr):
		return ExitConfig, msg, firstNonEmpty(hint, "store the key again: rolecall keys add "+badItem.Profile)
	case errors.As(err, &sourceErr):
		return ExitConfig, sourceErr.Error(), firstNonEmpty(hint, sourceErr.Hint(), "check the base credentials: aws sso login, the profile's credential_process, or AWS_* variables")
	case errors.As(err, &inputErr):
		return pick(code, ExitUsage), msg, hint
	case errors.As(err, &needsPerson):
		why := "run it where it can prompt on a terminal"
		switch needsPerson.Reason {
		case "CI":
			why = "CI=true is set, and rolecall never prompts in CI; unset it to be asked on this terminal"
		case "--no-prompt":
			why = "or drop --no-prompt to be asked on the terminal"
		case kubectlNoPrompt:
			why = "or run kubectl on a terminal (its exec entry needs interactiveMode IfAvailable or Always), or sign in first with rolecall assume"
		}
		return ExitNeedsPerson, msg, firstNonEmpty(hint, "pass --mfa-code CODE or --mfa-code-command CMD; "+why)
	case errors.Is(err, safefile.ErrLockWaitCanceled):
		return ExitLocal, msg, hint
	case errors.As(err, &outOfTime):
		return ExitLocal, msg, firstNonEmpty(hint, "--timeout ran out before this step; raise --timeout")
	case errors.As(err, &lockErr):
		return ExitLocal, msg, firstNonEmpty(hint, fmt.Sprintf("another rolecall holds the %s; retry, or raise --timeout", cmp.Or(lockErr.Kind, "lock")))
	case errors.Is(err, awsconfig.ErrUnmanagedSection):
		return ExitLocal, msg, firstNonEmpty(hint, "pass --force to replace it, or choose another name")
	case errors.As(err, &apiErr):
		return stsError(err, apiErr)
	case isNetworkError(err) && (code == 0 || code == ExitUnreachable):
		// A syscall.Errno is a net.Error too: a file error that was given
		// its own code (config, local) keeps it.
		return ExitUnreachable, networkMessage(err), firstNonEmpty(hint, "check the network and the STS endpoint (--endpoint-url, AWS_ENDPOINT_URL_STS), or raise --timeout")
	}
	return pick(code, ExitInternal), msg, hint
}

// federationError picks the code and hint for the console federation
// endpoint: a refusal is the endpoint saying no (4), anything else is it
// failing or not answering (5).
func federationError(e *console.FederationError, hint string) (int, string, string) {
	msg := e.Error()
	if e.Status == 0 && errors.Is(e.Err, context.DeadlineExceeded) {
		msg = "timed out waiting for the " + msg
	}
	switch {
	case e.Refused() && e.SessionDuration:
		return ExitRefused, msg, firstNonEmpty(hint, "the endpoint takes --console-duration only for a role assumed with an IAM user's long-term keys; leave it out, or try --refresh if the session expired")
	case e.Refused():
		return ExitRefused, msg, firstNonEmpty(hint, "the endpoint signs in only unexpired role and federated user sessions: if the cached session expired or was revoked, run again with --refresh; a GetSessionToken session cannot sign in (name a role)")
	case e.Status == 0:
		return ExitUnreachable, msg, firstNonEmpty(hint, "check the network and the federation endpoint (--federation-url, AWS_ENDPOINT_URL_SIGNIN), or raise --timeout")
	}
	return ExitUnreachable, msg, firstNonEmpty(hint, "the federation endpoint failed or answered something unexpected: try again later, and check --federation-url and AWS_ENDPOINT_URL_SIGNIN")
}

// ssoCallError classifies a failed IAM Identity Center call: the service
// refusing it (4), or not answering, failing or throttling (5).
func ssoCallError(err error, call *sso.CallError, hint string) (int, string, string) {
	where := "IAM Identity Center"
	if call.Service == "sso-oidc" {
		where = "IAM Identity Center's OIDC service"
	}
	var apiErr smithy.APIError
	var re *awshttp.ResponseError
	unreachable := !errors.As(err, &apiErr) || errors.As(err, &re) && (re.HTTPStatusCode() >= 500 || re.HTTPStatusCode() == 429)
	if unreachable {
		return ExitUnreachable, call.Action + ": cannot reach " + where + ": " + call.Err.Error(),
			firstNonEmpty(hint, "check the network, AWS_ENDPOINT_URL_SSO and AWS_ENDPOINT_URL_SSO_OIDC, or raise --timeout")
	}
	return ExitRefused, fmt.Sprintf("%s: %s: %s", call.Action, apiErr.ErrorCode(), apiErr.ErrorMessage()), hint
}

// iamError classifies a failed IAM call of `rolecall keys`: IAM refusing
// it (4), or failing, throttling or not answering (5).
func iamError(e *keys.IAMError, hint string) (int, string, string) {
	var apiErr smithy.APIError
	if !errors.As(e.Err, &apiErr) {
		return ExitUnreachable, e.Error(), firstNonEmpty(hint, "check the network and the IAM endpoint (AWS_ENDPOINT_URL_IAM), or raise --timeout")
	}
	msg := fmt.Sprintf("IAM %s: %s: %s", e.Action, apiErr.ErrorCode(), apiErr.ErrorMessage())
	switch apiErr.ErrorCode() {
	case "Throttling", "ServiceFailure", "InternalFailure", "ServiceUnavailable":
		return ExitUnreachable, msg, firstNonEmpty(hint, "IAM kept failing after retries; try again later (a stopped rotation is finished by running rolecall keys rotate again)")
	case "InvalidClientTokenId":
		return ExitRefused, msg, firstNonEmpty(hint, "IAM takes an IAM user's own key, or a session made with MFA: set the profile's mfa_serial if the user has an MFA device")
	case "AccessDenied":
		return ExitRefused, msg, firstNonEmpty(hint, "the user needs iam:ListAccessKeys, iam:CreateAccessKey and iam:DeleteAccessKey on itself (arn:aws:iam::ACCOUNT:user/${aws:username})")
	}
	return ExitRefused, msg, hint
}

// stsError turns an STS refusal into one line that says what to check.
func stsError(err error, apiErr smithy.APIError) (int, string, string) {
	var call *assume.CallError
	op := "STS"
	if errors.As(err, &call) {
		op = strings.TrimSpace(call.Action + " " + call.Target)
	}
	msg := fmt.Sprintf("%s: %s: %s", op, apiErr.ErrorCode(), apiErr.ErrorMessage())
	var hint string
	switch apiErr.ErrorCode() {
	case "AccessDenied":
		hint = "check the role's trust policy: it must trust your identity (rolecall whoami), and may require an external ID (--external-id) or MFA (--mfa-serial)"
		switch {
		case strings.Contains(apiErr.ErrorMessage(), "MultiFactorAuthentication"):
			// STS's words for a wrong, stale or reused code, or a serial that
			// is not the user's device.
			hint = "the MFA code was refused: type the code the device shows now (each code works once; check the device's clock), and check that the serial is your device's"
		case call != nil && call.Action == "AssumeRoleWithWebIdentity":
			hint = "the role's trust policy must allow this token's issuer, audience (aud) and subject (sub); decode the token to see them"
		}
	case "ExpiredToken", "ExpiredTokenException":
		hint = "the base credentials expired: renew them (aws sso login, a new session) or clear rolecall's cache with: rolecall cache clear --all"
		switch {
		case call != nil && call.BaseFromEnvironment:
			hint = "the keys in the environment (AWS_ACCESS_KEY_ID…) expired: " + assume.StaleEnvKeysHint
		case call != nil && call.Action == "AssumeRoleWithWebIdentity":
			hint = "the web identity token expired: fetch a fresh one (a new CI job token, or whatever writes the token file)"
		}
	case "InvalidClientTokenId", "SignatureDoesNotMatch", "IncompleteSignature", "MissingAuthenticationToken":
		hint = "the base credentials are not valid for this STS endpoint: check --profile, AWS_ACCESS_KEY_ID and the system clock"
	case "ValidationError", "MalformedPolicyDocument", "PackedPolicyTooLarge":
		hint = "a request parameter broke an STS limit: see the message; durations are 15m to 12h (1h for chained roles)"
	case "RegionDisabledException":
		hint = "activate STS in this region for the account, or pass another --region"
	case "InvalidIdentityToken", "IDPRejectedClaim":
		hint = "the role's trust policy must allow this token's issuer, audience (aud) and subject (sub)"
	case "Throttling", "ThrottlingException", "InternalFailure", "ServiceUnavailable", "InternalError":
		return ExitUnreachable, msg, "STS kept failing after retries; try again later, or raise --timeout"
	}
	return ExitRefused, msg, hint
}

func isNetworkError(err error) bool {
	var netErr net.Error
	var re *awshttp.ResponseError
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &netErr) ||
		errors.As(err, &re) && re.HTTPStatusCode() >= 500 ||
		strings.Contains(err.Error(), "connection reset") || strings.Contains(err.Error(), "EOF")
}

func networkMessage(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return "timed out waiting for STS: " + err.Error()
	}
	return "cannot reach STS: " + err.Error()
}

func pick(code, fallback int) int {
	if code != 0 {
		return code
	}
	return fallback
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

// oneLine keeps an error on one line (a multi-line message from a library
// would otherwise break the error contract) and shows control characters
// escaped, so a hostile profile name cannot drive the terminal.
func oneLine(s string) string {
	return escapeControl(strings.Join(strings.Fields(s), " "))
}

// escapeControl writes control characters (NUL, ESC, BEL, C1 codes) and
// the invisible format characters that reorder or break a line (bidi
// overrides, U+2028) as \xNN or \uNNNN, so a value from a file, a flag or
// STS cannot forge a line or drive the terminal where a person reads it.
// Everything else, Unicode text included, is left as it is.
func escapeControl(s string) string {
	if strings.IndexFunc(s, unprintable) < 0 {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case !unprintable(r):
			b.WriteRune(r)
		case r < 0x100:
			fmt.Fprintf(&b, "\\x%02x", r)
		default:
			fmt.Fprintf(&b, "\\u%04x", r)
		}
	}
	return b.String()
}

func unprintable(r rune) bool {
	return unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp)
}

// paint colours s regardless of fatih/color's global switch, which follows
// stdout; the caller has decided for stderr.
func paint(s string, attrs ...color.Attribute) string {
	c := color.New(attrs...)
	c.EnableColor()
	return c.Sprint(s)
}

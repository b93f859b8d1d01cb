package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rolecall/rolecall/pkg/assume"
	"github.com/rolecall/rolecall/pkg/awsconfig"
	"github.com/rolecall/rolecall/pkg/creds"
	"github.com/rolecall/rolecall/pkg/format"
	"github.com/rolecall/rolecall/pkg/safefile"
	"github.com/rolecall/rolecall/pkg/server"
)

// An endpoint is what `rolecall serve` and `rolecall exec --server` share:
// the request resolved and its credentials in hand, a listener, a token
// (and its file), and the pkg/server endpoint serving them from rolecall's
// cache through assume.Obtain.
type endpoint struct {
	io    *IO
	srv   *server.Server
	ln    net.Listener
	uri   string
	token string
	// privateDir holds the token file and the isolated AWS files; close
	// removes it. Empty until something is written there.
	privateDir, tokenFile string
	// isolated are the AWS files consumers get instead of the user's.
	isolated awsconfig.Isolated
	region   string // exported when the user named one
	label    string // what "/" serves; "" for no default route
	allowed  []string

	// tokenLock is held while the endpoint lives (tokendir.go).
	tokenLock *safefile.Lock

	// req and env are what every fetch obtains. startEndpoint changes
	// them after the first fetch, before Serve starts a goroutine.
	req assume.Request
	env assume.Env

	promptMu sync.Mutex
	waiting  atomic.Pointer[string]
}

// endpointConfig is how the two commands differ.
type endpointConfig struct {
	request    *requestFlags
	listen     string
	allowRoles []string
	// tokenFile writes the token to a file (serve always does; exec
	// --server with --token-via file).
	tokenFile bool
	// promptWhileServing lets a refresh ask for an MFA code on rolecall's
	// terminal (serve, in the foreground). exec --server asks only before
	// the command starts: the command owns the terminal then.
	promptWhileServing bool
}

// Token delivery: --token-via. both exports the file and the token
// itself: the SDKs that read the file (since about 2023) prefer it, and
// older ones (the AWS CLI v2 before 2.13, Debian 12's 2.9 among them) read
// only the variable.
const (
	tokenViaEnv  = "env"
	tokenViaFile = "file"
	tokenViaBoth = "both"
)

func checkTokenVia(v string) error {
	if v != tokenViaEnv && v != tokenViaFile && v != tokenViaBoth {
		return usageErrorf("pass --token-via both, env or file", "--token-via %q is none of both, env and file", v)
	}
	return nil
}

// startEndpoint resolves the request, binds the listener, and obtains the
// default route's credentials (prompting for an MFA code now, where one is
// needed), so that a failure stops rolecall before anything relies on the
// endpoint. The caller must close it.
func startEndpoint(ctx context.Context, io *IO, cfg endpointConfig) (_ *endpoint, err error) {
	e := &endpoint{io: io, allowed: cfg.allowRoles}
	defer func() {
		if err != nil {
			e.close()
		}
	}()
	e.env = cfg.request.env(io)
	e.env.MFACode = e.mfaSource(cfg.request, true)
	if e.req, err = cfg.request.Pinned(e.env); err != nil {
		return nil, err
	}
	for _, arn := range cfg.allowRoles {
		if err := assume.ValidateRoleARN(arn); err != nil {
			return nil, usageErrorf("--allow-role takes role ARNs (arn:aws:iam::ACCOUNT:role/NAME)", "--allow-role %s: %v", arn, err)
		}
	}

	// What "/" serves: the ROLEs, else the named profile's role. A request
	// that names no role serves only the allowed roles.
	probe := e.req
	probe.SourceOnly = true
	plan, err := assume.Resolve(ctx, probe, e.env)
	if err != nil {
		return nil, err
	}
	if len(plan.Hops) > 0 {
		e.label = plan.Target()
		e.region = knownRegion(plan)
	} else if len(cfg.allowRoles) == 0 {
		return nil, usageErrorf("name a ROLE, a --profile with role_arn, or --allow-role ARN", "nothing to serve: no role given")
	}

	if e.ln, err = (&net.ListenConfig{}).Listen(ctx, "tcp", cfg.listen); err != nil {
		return nil, usageErrorf("pass --listen HOST:PORT with a free port on this machine", "listen on %s: %v", cfg.listen, err)
	}
	addr, ok := e.ln.Addr().(*net.TCPAddr)
	if !ok {
		return nil, fmt.Errorf("listen on %s: not a TCP address", cfg.listen)
	}
	warnListen(io, cfg.listen, addr)
	e.uri = endpointURI(addr)
	if e.token, err = server.NewToken(); err != nil {
		return nil, err
	}
	if cfg.tokenFile {
		if err := e.writeTokenFile(); err != nil {
			return nil, withCode(ExitLocal, err, "check TMPDIR: rolecall writes the token to a private directory there")
		}
	}
	if err := e.isolate(); err != nil {
		return nil, err
	}

	if e.srv, err = server.New(server.Options{
		Fetch:         e.fetch,
		DefaultRole:   e.label,
		AllowedRoles:  cfg.allowRoles,
		Token:         e.token,
		Addr:          addr,
		RefreshWindow: endpointWindow(io, e.req.RefreshWindow),
		FetchTimeout:  e.req.Timeout,
		Now:           io.Now,
		Logf:          func(f string, a ...any) { io.Infof("%s %s", stamp(io.Now()), fmt.Sprintf(f, a...)) },
		Warnf:         func(f string, a ...any) { io.Warnf("%s %s", stamp(io.Now()), fmt.Sprintf(f, a...)) },
		Describe:      describeFailure,
		Waiting: func() string {
			if w := e.waiting.Load(); w != nil {
				return *w
			}
			return ""
		},
	}); err != nil {
		return nil, err
	}
	if e.label != "" {
		if _, err := e.srv.Warm(ctx, ""); err != nil {
			var short *server.ShortLivedError
			if errors.As(err, &short) {
				return nil, usageErrorf("pass a longer --duration or a shorter --refresh-window", "%v", err)
			}
			return nil, err
		}
	}
	// From here on a fetch is a refresh: a code on the command line was
	// spent (STS refuses a code twice), --refresh was honoured, and exec's
	// command is about to own the terminal.
	e.req.MFACode, e.req.Refresh = "", false
	e.env.MFACode = e.mfaSource(cfg.request, cfg.promptWhileServing)
	return e, nil
}

// fetch is the server's credentials func: the request (plus the role of a
// /role-arn/ route, assumed with the credentials of the ROLEs before it),
// through assume.Obtain, so the endpoint, `rolecall process` and shells
// share the cache, its lock and one STS call.
func (e *endpoint) fetch(ctx context.Context, role string, minLife time.Duration) (creds.Credentials, error) {
	req := e.req
	if role != "" {
		req.Roles = append(req.Roles, role) // Pinned clipped Roles: this copies
	}
	req.RefreshWindow = minLife
	res, err := assume.Obtain(ctx, req, e.env)
	return res.Credentials, err
}

// mfaSource is how a fetch gets an MFA code: --mfa-code-command always;
// rolecall's terminal only when terminal is true, and only while rolecall
// is not a background job (reading the terminal would stop the whole
// server). Codes are asked one at a time, and the server can say what a
// slow fetch waits for.
func (e *endpoint) mfaSource(fl *requestFlags, terminal bool) func(context.Context, string) (string, error) {
	ask := mfaCodeSource(e.io, fl)
	fromCommand := fl.MFACodeCommand != ""
	if ask == nil || (!fromCommand && !terminal) {
		return nil
	}
	return func(ctx context.Context, serial string) (string, error) {
		e.promptMu.Lock()
		defer e.promptMu.Unlock()
		what := "an MFA code for " + serial + " is awaited on rolecall's terminal"
		if fromCommand {
			what = "--mfa-code-command is running for " + serial
		} else if inBackground() {
			return "", &assume.NeedsPersonError{Serial: serial}
		}
		e.waiting.Store(&what)
		defer e.waiting.Store(nil)
		return ask(ctx, serial)
	}
}

// writeTokenFile writes the token, without a newline (the SDKs send the
// file's content as it is and refuse a line break), to a file only the
// user can read, in a directory of its own that close removes.
func (e *endpoint) writeTokenFile() error {
	dir, err := e.dir()
	if err != nil {
		return err
	}
	path := filepath.Join(dir, "token")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600) //nolint:gosec // a fresh private directory
	if err != nil {
		return fmt.Errorf("write the token file: %w", err)
	}
	_, err = f.WriteString(e.token)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write the token file: %w", err)
	}
	e.tokenFile = path
	return nil
}

// dir returns the endpoint's private directory (tokendir.go), made on
// first use: the token file and the isolated AWS files.
func (e *endpoint) dir() (string, error) {
	if e.privateDir != "" {
		return e.privateDir, nil
	}
	base := ""
	if runtime.GOOS != "windows" {
		base = e.io.Getenv("TMPDIR")
	}
	removeStaleTokenDirs(base, e.io.Infof)
	dir, lock, err := makeTokenDir(base)
	if err != nil {
		return "", tokenDirError(err)
	}
	e.privateDir, e.tokenLock = dir, lock
	return dir, nil
}

// isolate makes the endpoint the first source its consumers' SDKs reach:
// where the user's AWS files give the default profile credentials, which
// every SDK tries before the container endpoint, consumers get copies
// without them (docs/config.md, "What each output hands its consumer").
// A file that cannot be read or made safe stops the endpoint: a command
// must never run as someone other than the role asked for.
func (e *endpoint) isolate() error {
	files := awsconfig.DefaultFiles(e.env.Getenv, e.env.HomeDir)
	if files.Config == "" && files.Credentials == "" {
		return nil
	}
	dir, err := e.dir()
	if err != nil {
		return withCode(ExitLocal, err, "check TMPDIR: rolecall writes the endpoint's files to a private directory there")
	}
	if e.isolated, err = awsconfig.WriteIsolated(dir, files); err != nil {
		return withCode(ExitConfig, err, "fix the file, or remove the default profile's credentials from it")
	}
	for _, path := range []string{e.isolated.Config, e.isolated.Credentials} {
		if path != "" {
			e.io.Debugf("the command reads %s: the user's file without the default profile's credentials, which its SDKs would use before the endpoint", path)
		}
	}
	return nil
}

// vars is the endpoint as an SDK finds it: the token itself, its file, or
// both (--token-via).
func (e *endpoint) vars(tokenVia string) format.Endpoint {
	ep := format.Endpoint{URI: e.uri, Region: e.region,
		ConfigFile: e.isolated.Config, CredentialsFile: e.isolated.Credentials}
	if tokenVia != tokenViaEnv {
		ep.TokenFile = e.tokenFile
	}
	if tokenVia != tokenViaFile {
		ep.Token = e.token
	}
	return ep
}

// serve runs the endpoint until ctx ends.
func (e *endpoint) serve(ctx context.Context) error {
	err := e.srv.Serve(ctx, e.ln)
	if err != nil && errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// close releases what startEndpoint took: the listener (if Serve never
// ran) and the token file.
func (e *endpoint) close() {
	if e.srv != nil {
		e.srv.Close()
	}
	if e.ln != nil {
		_ = e.ln.Close()
	}
	if e.tokenLock != nil {
		e.tokenLock.Release() // first: Windows removes no open file
	}
	if e.privateDir != "" {
		_ = os.RemoveAll(e.privateDir)
	}
}

// endpointURI is the URL clients use. An endpoint listening on every
// address is reached locally through 127.0.0.1, which every SDK (and the
// older ones, which know only localhost and 127.0.0.1) accepts.
func endpointURI(addr *net.TCPAddr) string {
	host := addr.IP.String()
	if addr.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, fmt.Sprint(addr.Port)) + "/"
}

// sdkPlainHTTPHosts are the non-loopback addresses the SDKs fetch
// container credentials from over plain HTTP: ECS's, and EKS Pod
// Identity's (aws-sdk-go-v2 config/resolve_credentials.go, isAllowedHost;
// botocore utils.py, ContainerMetadataFetcher._ALLOWED_HOSTS; the
// JavaScript SDK's credential-provider-http checkUrl.ts).
var sdkPlainHTTPHosts = []net.IP{
	net.ParseIP("169.254.170.2"),
	net.ParseIP("169.254.170.23"),
	net.ParseIP("fd00:ec2::23"),
}

// warnListen warns when the endpoint listens beyond loopback: others can
// reach it (the token is then all that protects it), and the SDKs refuse
// plain HTTP to most addresses.
func warnListen(io *IO, listen string, addr *net.TCPAddr) {
	if addr.IP.IsLoopback() && addr.IP.To4() == nil {
		io.Warnf("listening on %s, IPv6 loopback: clients older than about 2023 (Debian 12's AWS CLI v2, 2.9, among them; the JavaScript SDK's fromContainerMetadata) accept only 127.0.0.1 and localhost, and refuse this endpoint (\"Unsupported host '::1'\"); listen on 127.0.0.1 for them", listen)
	}
	if addr.IP.IsLoopback() {
		return
	}
	io.Warnf("listening on %s, beyond loopback: whoever can reach it may try the token, which is then all that protects the credentials", listen)
	for _, ip := range sdkPlainHTTPHosts {
		if addr.IP.Equal(ip) {
			return
		}
	}
	io.Warnf("the AWS SDKs fetch credentials over plain HTTP only from loopback (127.0.0.0/8, ::1, localhost; older ones only 127.0.0.1 and localhost), 169.254.170.2 (ECS) and 169.254.170.23 or fd00:ec2::23 (EKS): a client must reach this endpoint at one of those; see docs/server.md for containers")
}

// describeFailure answers a fetch error with the message and hint the
// error printer would show, under an HTTP status: 4xx where a retry cannot
// help (aws-sdk-go-v2 then does not retry, and the JavaScript SDK shows a
// 4xx answer's Code and Message), 503 where it can.
func describeFailure(err error) server.Failure {
	code, msg, hint := classify(err)
	msg = oneLine(msg)
	if hint != "" {
		msg += "; hint: " + oneLine(hint)
	}
	f := server.Failure{Message: "rolecall: " + msg}
	switch code {
	case ExitUnreachable, ExitLocal:
		f.Status, f.Code = http.StatusServiceUnavailable, "CredentialsUnavailable"
	case ExitRefused:
		f.Status, f.Code = http.StatusForbidden, "CredentialsRefused"
	case ExitNeedsPerson:
		f.Status, f.Code = http.StatusForbidden, "MFACodeNeeded"
	default:
		f.Status, f.Code = http.StatusInternalServerError, "CredentialsError"
	}
	return f
}

// stamp is the time on a request line.
func stamp(t time.Time) string { return t.Format("2006-01-02T15:04:05.000Z07:00") }

// lockedWriter serializes the lines of concurrent requests.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// describeRoutes tells a person what the endpoint serves, on stderr.
func (e *endpoint) describeRoutes() string {
	var b strings.Builder
	if e.label != "" {
		fmt.Fprintf(&b, "%s at %s", e.label, e.uri)
	}
	for _, arn := range e.allowed {
		if b.Len() > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s at %srole-arn/%s", arn, e.uri, arn)
	}
	return b.String()
}

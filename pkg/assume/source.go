package assume

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"runtime"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"
	"github.com/aws/aws-sdk-go-v2/credentials/processcreds"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/smithy-go/logging"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/rolecall/rolecall/pkg/awsconfig"
	"github.com/rolecall/rolecall/pkg/keyring"
)

// RecursionEnv lists the roles the rolecall processes up the tree are
// resolving, one a line. A credential_process that runs rolecall for a role
// already being resolved would otherwise fork without end. It is passed to
// the credential_process children rolecall starts, and to nothing else.
const RecursionEnv = "ROLECALL_RESOLVING"

// sourceProvider builds the SDK credential provider for a plan's source
// from the settings Resolve already read: rolecall loads no SDK config, so
// the resolver is the only place sources are decided.
func sourceProvider(p Plan, env Env) (aws.CredentialsProvider, error) {
	src := p.Source
	var provider aws.CredentialsProvider
	switch src.Kind {
	case awsconfig.SourceStatic, awsconfig.SourceEnvironment:
		k := src.StaticKeys
		return credentials.NewStaticCredentialsProvider(k.AccessKeyID, k.SecretAccessKey, k.SessionToken), nil
	case awsconfig.SourceKeychain:
		if k := src.StaticKeys; k != nil && k.SecretAccessKey != "" {
			// Read from the store already (Runner.call), with the call's
			// context.
			return credentials.NewStaticCredentialsProvider(k.AccessKeyID, k.SecretAccessKey, ""), nil
		}
		provider = keychainProvider{src: src, env: env}
	case awsconfig.SourceWebIdentity:
		return aws.AnonymousCredentials{}, nil // AssumeRoleWithWebIdentity is unsigned
	case awsconfig.SourceProcess:
		provider = processcreds.NewProviderCommand(processCommand(src.Settings.CredentialProcess, p.Target(), env))
	case awsconfig.SourceSSO:
		// GetRoleCredentials is the plan's first hop (KindSSORole), made by
		// the runner with the cache's lock, never a provider.
		return nil, fmt.Errorf("an IAM Identity Center source has no provider: its role credentials are the plan's first hop")
	case awsconfig.SourceECS:
		provider = endpointcreds.New(src.ContainerURI, func(o *endpointcreds.Options) {
			o.HTTPClient = env.HTTPClient
			o.AuthorizationToken = env.Getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN")
			if file := env.Getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"); file != "" {
				o.AuthorizationTokenProvider = endpointcreds.TokenProviderFunc(func() (string, error) {
					b, err := readRegularFile(file, maxTokenBytes)
					return strings.TrimSpace(string(b)), err
				})
			}
		})
	case awsconfig.SourceEC2:
		provider = ec2rolecreds.New(func(o *ec2rolecreds.Options) {
			o.Client = imds.New(imds.Options{
				HTTPClient: env.HTTPClient,
				Endpoint:   env.Getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT"),
				// The client logs "falling back to IMDSv1" to stderr itself;
				// rolecall reports failures in its own words.
				Logger: logging.Nop{},
			})
		})
	default:
		return nil, fmt.Errorf("source %q cannot be loaded", src.Kind)
	}
	return markSourceErrors{src, aws.NewCredentialsCache(provider)}, nil
}

// processCommand runs a profile's credential_process as the SDK does (sh -c,
// cmd.exe /C), with the environment from env and this role added to
// RecursionEnv.
func processCommand(command, target string, env Env) processcreds.NewCommandBuilderFunc {
	return func(ctx context.Context) (*exec.Cmd, error) {
		shell := []string{"sh", "-c", command}
		if runtime.GOOS == "windows" {
			shell = []string{"cmd.exe", "/C", command}
		}
		cmd := exec.CommandContext(ctx, shell[0], shell[1:]...) //nolint:gosec // the profile's own credential_process
		var environ []string
		if env.Environ != nil {
			environ = env.Environ()
		}
		cmd.Env = withRecursionMark(environ, env.Getenv(RecursionEnv), target)
		cmd.Stdin, cmd.Stderr = env.Stdin, env.Stderr
		return cmd, nil
	}
}

// withRecursionMark is environ with target added to RecursionEnv.
func withRecursionMark(environ []string, active, target string) []string {
	out := make([]string, 0, len(environ)+1)
	for _, kv := range environ {
		if !strings.HasPrefix(kv, RecursionEnv+"=") {
			out = append(out, kv)
		}
	}
	if active != "" {
		active += "\n"
	}
	return append(out, RecursionEnv+"="+active+target)
}

// SourceError is a failure to load the base credentials (an SSO login that
// expired, a credential_process that failed, no instance role), as opposed
// to STS refusing a call made with them.
type SourceError struct {
	Source Source
	Err    error
}

func (e *SourceError) Error() string {
	if e.Source.Kind == awsconfig.SourceEC2 && e.Source.LookedIn != "" {
		return "no AWS credentials found: looked in " + e.Source.LookedIn + " and instance metadata, which " + imdsSaid(e.Err)
	}
	where := "the " + string(e.Source.Kind) + " source"
	switch {
	case e.Source.Profile != "":
		where = "profile " + e.Source.Profile
	case e.Source.Kind == awsconfig.SourceEC2:
		where = "instance metadata"
	case e.Source.Kind == awsconfig.SourceECS:
		where = "the container endpoint " + e.Source.ContainerURI
	}
	return "load base credentials from " + where + ": " + e.Err.Error()
}

func (e *SourceError) Unwrap() error { return e.Err }

// Hint says what to do, where the source says more than the CLI's
// general advice: for instance metadata that was the last resort, how to
// give rolecall credentials at all.
func (e *SourceError) Hint() string {
	var unavailable *keyring.UnavailableError
	var invalid *keyring.InvalidItemError
	switch {
	case errors.As(e.Err, &unavailable):
		return unavailable.Hint()
	case errors.As(e.Err, &invalid), e.Source.Kind == awsconfig.SourceKeychain:
		return "store the key again: rolecall keys add " + e.Source.Profile
	}
	if e.Source.Kind == awsconfig.SourceEC2 && e.Source.LookedIn != "" {
		return lookedEverywhereHint
	}
	return ""
}

// lookedEverywhereHint is the way out when no credentials were found.
const lookedEverywhereHint = "add keys to ~/.aws/credentials (aws configure), pass --profile NAME, or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"

// imdsSaid is what instance metadata answered, in a few words: off an EC2
// instance, or on one without a role, it answers 403 or 404, or nothing.
func imdsSaid(err error) string {
	var re *smithyhttp.ResponseError
	switch {
	case errors.As(err, &re):
		return fmt.Sprintf("answered HTTP %d (no instance role here)", re.HTTPStatusCode())
	case errors.Is(err, context.DeadlineExceeded):
		return "did not answer in time"
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return "did not answer (" + netErr.Error() + ")"
	}
	return "said: " + err.Error()
}

// markSourceErrors marks a source's errors so the CLI can tell them from
// STS's answers.
type markSourceErrors struct {
	source Source
	aws.CredentialsProvider
}

func (p markSourceErrors) Retrieve(ctx context.Context) (aws.Credentials, error) {
	c, err := p.CredentialsProvider.Retrieve(ctx)
	if err != nil {
		return c, &SourceError{Source: p.source, Err: err}
	}
	return c, nil
}

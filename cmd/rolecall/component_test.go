//go:build unix

package main

// The GitLab CI/CD component (templates/assume.yml) as GitLab and its runner
// use it: the spec's inputs checked, the job's $[[ inputs.* ]] and
// $[[ component.* ]] interpolated as GitLab does when it includes the file,
// then the job's script run by a real shell (bash, and dash for the busybox
// sh of the default image) with the job's variables and GitLab's
// predefined ones (GITLAB_CI, CI_JOB_ID, the id_tokens variable), against
// the STS emulator, with the release from a local HTTP server. No GitLab
// schema validator is available offline: the test checks the keys the
// runner relies on instead.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/rolecall/rolecall/pkg/ststest"
)

// componentSpec is the header document of a component.
type componentSpec struct {
	Spec struct {
		Component []string `yaml:"component"`
		Inputs    map[string]struct {
			Description string  `yaml:"description"`
			Default     *string `yaml:"default"`
		} `yaml:"inputs"`
	} `yaml:"spec"`
}

// componentJob is the part of a job the test runs.
type componentJob struct {
	Stage    string                       `yaml:"stage"`
	Image    string                       `yaml:"image"`
	IDTokens map[string]map[string]string `yaml:"id_tokens"`
	Vars     map[string]string            `yaml:"variables"`
	Script   []string                     `yaml:"script"`
	Art      struct {
		Access   string            `yaml:"access"`
		ExpireIn string            `yaml:"expire_in"`
		Reports  map[string]string `yaml:"reports"`
	} `yaml:"artifacts"`
}

// The GitLab issuer the emulator trusts in these tests, and its role.
const gitlabIssuer = "https://gitlab.example.com"

var gitlabDeployRole = ststest.DemoRoleARN("gitlab-deploy")

func gitlabConfig() ststest.Config {
	cfg := ststest.DemoConfig()
	cfg.OIDCProviders = append(cfg.OIDCProviders, ststest.OIDCProvider{Issuer: gitlabIssuer, ClientIDs: []string{"sts.amazonaws.com"}})
	cfg.Roles = append(cfg.Roles, ststest.Role{ARN: gitlabDeployRole, Trust: ststest.Trust{WebIdentity: &ststest.WebIdentityTrust{
		Issuer:      gitlabIssuer,
		Audiences:   []string{"sts.amazonaws.com"},
		SubjectLike: []string{"project_path:example/app:*"},
	}}})
	return cfg
}

// readComponent splits templates/assume.yml into its spec and its text
// after the document separator, the part GitLab interpolates.
func readComponent(t *testing.T) (componentSpec, string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "templates", "assume.yml"))
	if err != nil {
		t.Fatal(err)
	}
	head, body, ok := strings.Cut(string(data), "\n---\n")
	if !ok {
		t.Fatal("templates/assume.yml has no --- between its spec and its jobs")
	}
	var spec componentSpec
	if err := yaml.Unmarshal([]byte(head), &spec); err != nil {
		t.Fatalf("the spec of templates/assume.yml: %v", err)
	}
	return spec, body
}

// interpolation is GitLab's $[[ inputs.NAME ]] and $[[ component.NAME ]].
var interpolation = regexp.MustCompile(`\$\[\[\s*(inputs|component)\.([a-z_-]+)\s*\]\]`)

// includeComponent does what `include: component: …@version` with inputs
// does: it fills in the inputs (or their defaults) and the component's
// version, and returns the job.
func includeComponent(t *testing.T, version string, inputs map[string]string) (string, componentJob) {
	t.Helper()
	spec, body := readComponent(t)
	for name := range inputs {
		if _, ok := spec.Spec.Inputs[name]; !ok {
			t.Fatalf("input %q is not in the component's spec", name)
		}
	}
	text := interpolation.ReplaceAllStringFunc(body, func(m string) string {
		sub := interpolation.FindStringSubmatch(m)
		if sub[1] == "component" {
			if !slices.Contains(spec.Spec.Component, sub[2]) {
				t.Fatalf("%s is used but spec.component does not list %s", m, sub[2])
			}
			return version
		}
		in, ok := spec.Spec.Inputs[sub[2]]
		if !ok {
			t.Fatalf("%s: no such input", m)
		}
		if v, ok := inputs[sub[2]]; ok {
			return v
		}
		if in.Default == nil {
			t.Fatalf("required input %s not given", sub[2])
		}
		return *in.Default
	})
	var jobs map[string]componentJob
	if err := yaml.Unmarshal([]byte(text), &jobs); err != nil {
		t.Fatalf("the interpolated job: %v\n%s", err, text)
	}
	if len(jobs) != 1 {
		t.Fatalf("the component defines %d jobs, want 1", len(jobs))
	}
	for name, job := range jobs {
		return name, job
	}
	return "", componentJob{}
}

// TestComponentSpec checks the component's inputs and the job keys GitLab
// relies on: role-arn is the one required input, the OIDC token is the
// variable --oidc gitlab reads, and the credentials leave the job only as
// a dotenv report for developers that expires.
func TestComponentSpec(t *testing.T) {
	t.Parallel()
	spec, _ := readComponent(t)
	var required []string
	for name, in := range spec.Spec.Inputs {
		if in.Default == nil {
			required = append(required, name)
		}
		if in.Description == "" {
			t.Errorf("input %s has no description", name)
		}
	}
	if !slices.Equal(required, []string{"role-arn"}) {
		t.Errorf("required inputs %v, want [role-arn]", required)
	}
	name, job := includeComponent(t, "1.4.2", map[string]string{"role-arn": gitlabDeployRole})
	if name != "rolecall-assume" || job.Stage != ".pre" || job.Image == "" {
		t.Errorf("job %q, stage %q, image %q", name, job.Stage, job.Image)
	}
	if aud := job.IDTokens["GITLAB_OIDC_TOKEN"]["aud"]; aud != "sts.amazonaws.com" {
		t.Errorf("id_tokens GITLAB_OIDC_TOKEN aud = %q; --oidc gitlab reads GITLAB_OIDC_TOKEN", aud)
	}
	if job.Art.Reports["dotenv"] != "rolecall.env" || job.Art.Access != "developer" || job.Art.ExpireIn == "" {
		t.Errorf("artifacts: %+v", job.Art)
	}
	if len(job.Script) != 1 || !strings.Contains(job.Script[0], "--oidc gitlab -f dotenv") {
		t.Errorf("the script does not run rolecall assume --oidc gitlab -f dotenv")
	}
	// The inputs that are job keys rather than rolecall's arguments.
	name, job = includeComponent(t, "1.4.2", map[string]string{"role-arn": gitlabDeployRole,
		"job-name": "aws", "stage": "deploy", "image": "busybox:1.37", "audience": "https://gitlab.example.com", "expire-in": "5 minutes"})
	if name != "aws" || job.Stage != "deploy" || job.Image != "busybox:1.37" ||
		job.IDTokens["GITLAB_OIDC_TOKEN"]["aud"] != "https://gitlab.example.com" || job.Art.ExpireIn != "5 minutes" {
		t.Errorf("with inputs: job %q, stage %q, image %q, id_tokens %v, expire_in %q", name, job.Stage, job.Image, job.IDTokens, job.Art.ExpireIn)
	}
}

// componentRun is one run of the component's job.
type componentRun struct {
	dir, log string
	code     int
}

// runComponentJob runs the job's script with shell as GitLab's runner
// would, in a fresh project directory.
func runComponentJob(t *testing.T, shell string, job componentJob, sts *ststest.Server, token string) componentRun {
	t.Helper()
	needPrograms(t, shell, "curl", "tar", "sha256sum", "awk")
	work := t.TempDir()
	dir := filepath.Join(work, "project")
	home := filepath.Join(work, "home")
	for _, d := range []string{dir, filepath.Join(home, ".aws"), filepath.Join(work, "tmp")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	script := filepath.Join(work, "script.sh")
	if err := os.WriteFile(script, []byte(strings.Join(job.Script, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + home, "TMPDIR=" + filepath.Join(work, "tmp"),
		"AWS_CONFIG_FILE=" + filepath.Join(home, ".aws", "config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, ".aws", "credentials"),
		"ROLECALL_CACHE_DIR=" + filepath.Join(work, "cache"),
		"AWS_EC2_METADATA_DISABLED=true", "AWS_ENDPOINT_URL_STS=" + sts.URL(), "GORACE=" + raceOptions(),
		"CI=true", "GITLAB_CI=true", "CI_JOB_ID=987", "CI_JOB_NAME=rolecall-assume", "CI_PROJECT_DIR=" + dir,
		"GITLAB_OIDC_TOKEN=" + token,
	}
	for k, v := range job.Vars {
		env = append(env, k+"="+v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	cmd := exec.CommandContext(ctx, shell, "-e", script)
	cmd.Env, cmd.Dir = env, dir
	out, err := cmd.CombinedOutput()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("hung: the job's script still running after %s:\n%s", hangGuard, redactLog(string(out)))
	}
	run := componentRun{dir: dir, log: string(out)}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		run.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	t.Logf("job log (%s, exit %d):\n%s", shell, run.code, redactLog(run.log))
	return run
}

// TestComponentJob runs the job in bash and in dash: it installs the
// checked release, assumes the role with the id_tokens token, names the
// session after CI_JOB_ID, writes the credentials to the dotenv report
// (0600) and prints none of them.
func TestComponentJob(t *testing.T) {
	t.Parallel()
	if ok, err := required(runtime.GOOS == "linux", "Linux: the component's job runs in a Linux container"); !ok {
		if err != nil {
			t.Fatal(err)
		}
		t.Skip("the component's job runs in a Linux container")
	}
	for _, shell := range []string{"bash", "dash"} {
		t.Run(shell, func(t *testing.T) {
			t.Parallel()
			sts := ststest.NewServer(gitlabConfig())
			t.Cleanup(sts.Close)
			token, err := sts.WebIdentityToken(gitlabIssuer, map[string]any{
				"sub": "project_path:example/app:ref_type:branch:ref:main", "aud": "sts.amazonaws.com",
			})
			if err != nil {
				t.Fatal(err)
			}
			rs := newReleaseServer(t, map[string]release{"v" + actionVersion: testBinaryRelease(t)})
			_, job := includeComponent(t, actionVersion, map[string]string{
				"role-arn": gitlabDeployRole, "aws-region": "eu-west-1", "download-url": rs.downloadURL(),
			})
			run := runComponentJob(t, shell, job, sts, token)
			if run.code != 0 {
				t.Fatalf("the job failed with %d", run.code)
			}
			dotenv := filepath.Join(run.dir, "rolecall.env")
			fi, err := os.Stat(dotenv)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("rolecall.env mode %v, want 0600", fi.Mode().Perm())
			}
			vars := map[string]string{}
			for _, line := range strings.Split(strings.TrimSpace(readFile(t, dotenv)), "\n") {
				k, v, _ := strings.Cut(line, "=")
				vars[k] = v
			}
			for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"} {
				if vars[k] == "" {
					t.Errorf("the dotenv report has no %s; it has %v", k, keys(vars))
				} else if strings.Contains(run.log, vars[k]) {
					t.Errorf("the job log shows %s", k)
				}
			}
			if vars["AWS_REGION"] != "eu-west-1" {
				t.Errorf("AWS_REGION = %q", vars["AWS_REGION"])
			}
			calls := sts.Calls()
			if len(calls) != 1 || calls[0].Action != "AssumeRoleWithWebIdentity" ||
				calls[0].Params["RoleArn"] != gitlabDeployRole || calls[0].Params["RoleSessionName"] != "GitLab-987" {
				t.Errorf("the emulator got %+v", calls)
			}
		})
	}
}

// TestComponentTamperedArchive: a release archive that does not match
// checksums.txt fails the job before anything from it runs.
func TestComponentTamperedArchive(t *testing.T) {
	t.Parallel()
	sts := ststest.NewServer(gitlabConfig())
	t.Cleanup(sts.Close)
	rel := stubRelease(t, actionVersion)
	archive := fmt.Sprintf("rolecall_%s_linux_%s.tar.gz", actionVersion, runtime.GOARCH)
	rel[archive] = append(slices.Clone(rel[archive]), "tampered"...)
	rs := newReleaseServer(t, map[string]release{"v" + actionVersion: rel})
	_, job := includeComponent(t, "", map[string]string{
		"role-arn": gitlabDeployRole, "version": "v" + actionVersion, "download-url": rs.downloadURL(),
	})
	marker := filepath.Join(t.TempDir(), "ran")
	job.Vars["ROLECALL_STUB_ARGS"] = marker
	run := runComponentJob(t, "bash", job, sts, "token")
	if run.code == 0 || !strings.Contains(run.log, "rolecall: error: checksum mismatch for "+archive) {
		t.Errorf("exit %d, want a checksum error", run.code)
	}
	if _, err := os.Stat(marker + ".ran"); err == nil {
		t.Error("the binary from the tampered archive ran")
	}
	if _, err := os.Stat(filepath.Join(run.dir, "rolecall.env")); err == nil {
		t.Error("rolecall.env was written")
	}
}

// TestComponentInputs maps the component's inputs to what rolecall gets,
// with a stub binary that records its arguments.
func TestComponentInputs(t *testing.T) {
	t.Parallel()
	sts := ststest.NewServer(gitlabConfig())
	t.Cleanup(sts.Close)
	rs := newReleaseServer(t, map[string]release{
		"v" + actionVersion: stubRelease(t, actionVersion),
		"v1.3.0":            stubRelease(t, "1.3.0"),
	})
	base := []string{"assume", "--oidc", "gitlab", "-f", "dotenv"}
	tests := []struct {
		name      string
		component string // the component's version, "" when included by commit
		inputs    map[string]string
		args      []string
		log       string // the job log holds this
		code      int
	}{
		{name: "role-arn", component: actionVersion, args: slices.Concat(base, []string{gitlabDeployRole}), log: "downloading .*/v1.4.2/"},
		{name: "aws-region", component: actionVersion, inputs: map[string]string{"aws-region": "eu-west-1"},
			args: slices.Concat(base, []string{"--region", "eu-west-1", gitlabDeployRole})},
		{name: "duration", component: actionVersion, inputs: map[string]string{"duration": "900"},
			args: slices.Concat(base, []string{"--duration", "900", gitlabDeployRole})},
		{name: "session-name", component: actionVersion, inputs: map[string]string{"session-name": "deploy-1"},
			args: slices.Concat(base, []string{"--session-name", "deploy-1", gitlabDeployRole})},
		{name: "policy-arns", component: actionVersion, inputs: map[string]string{"policy-arns": "arn:aws:iam::aws:policy/ReadOnlyAccess arn:aws:iam::123456789012:policy/deploy"},
			args: slices.Concat(base, []string{"--policy-arn", "arn:aws:iam::aws:policy/ReadOnlyAccess", "--policy-arn", "arn:aws:iam::123456789012:policy/deploy", gitlabDeployRole})},
		{name: "version overrides the component's", component: actionVersion, inputs: map[string]string{"version": "1.3.0"},
			args: slices.Concat(base, []string{gitlabDeployRole}), log: "downloading .*/v1.3.0/rolecall_1.3.0_linux_"},
		{name: "included by commit, no version", log: "rolecall: error: no release to install", code: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inputs := map[string]string{"role-arn": gitlabDeployRole, "download-url": rs.downloadURL()}
			for k, v := range tt.inputs {
				inputs[k] = v
			}
			_, job := includeComponent(t, tt.component, inputs)
			stubArgs := filepath.Join(t.TempDir(), "args")
			job.Vars["ROLECALL_STUB_ARGS"] = stubArgs
			run := runComponentJob(t, "bash", job, sts, "token")
			if run.code != tt.code {
				t.Fatalf("exit code %d, want %d", run.code, tt.code)
			}
			if tt.log != "" && !regexp.MustCompile(tt.log).MatchString(run.log) {
				t.Errorf("the job log does not match %q", tt.log)
			}
			if tt.code != 0 {
				return
			}
			got := strings.Split(strings.TrimSuffix(readFile(t, stubArgs), "\n"), "\n")
			if !slices.Equal(got, tt.args) {
				t.Errorf("rolecall got\n  %q\nwant\n  %q", got, tt.args)
			}
		})
	}
}

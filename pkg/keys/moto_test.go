package keys_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/rolecall/rolecall/pkg/assume"
	"github.com/rolecall/rolecall/pkg/awsconfig"
	"github.com/rolecall/rolecall/pkg/keyring"
	"github.com/rolecall/rolecall/pkg/keys"
)

// TestMain makes the file store's keys cheap to derive (the default scrypt
// cost under the race detector is tens of seconds a file on a busy
// machine); pkg/keyring checks the default.
func TestMain(m *testing.M) {
	keyring.SetTestScryptWorkFactor(10)
	os.Exit(m.Run())
}

// startMoto starts moto's server (an IAM and STS nobody here wrote) on a
// free loopback port. Outside CI the test skips when moto_server is
// missing; in CI it fails.
func startMoto(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("moto_server")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("moto_server is missing and CI is set: %v", err)
		}
		t.Skipf("moto_server is missing (pip install 'moto[server]')")
	}
	l, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	cmd := exec.CommandContext(t.Context(), path, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatalf("start moto_server: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	lines := bufio.NewScanner(stderr)
	for lines.Scan() {
		if strings.Contains(lines.Text(), "Running on "+url) {
			go func() { _, _ = io.Copy(io.Discard, stderr) }()
			return url
		}
	}
	t.Fatalf("moto_server ended before listening")
	return ""
}

// TestRotateAgainstMoto rotates a key with moto's IAM and STS: the real
// SDK clients against a peer nobody here wrote. The store is the encrypted
// file; the config file names the new key afterwards, and IAM holds it
// alone.
func TestRotateAgainstMoto(t *testing.T) {
	ctx := context.Background()
	url := startMoto(t)
	home := t.TempDir()
	vars := map[string]string{
		"AWS_ENDPOINT_URL_STS":        url,
		"AWS_ENDPOINT_URL_IAM":        url,
		"AWS_CONFIG_FILE":             filepath.Join(home, "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(home, "credentials"),
		"ROLECALL_CACHE_DIR":          filepath.Join(home, "cache"),
		keyring.PassphraseCommandEnv:  "echo moto-test-passphrase",
		"AWS_EC2_METADATA_DISABLED":   "true",
		"USER":                        "tester",
	}
	env := assume.Env{
		Getenv:  func(k string) string { return vars[k] },
		Environ: func() []string { return nil },
		HomeDir: home,
		Now:     time.Now,
		Warn:    func(msg string) { t.Log("warning: " + msg) },
		Trace:   func(f string, a ...any) { t.Logf(f, a...) },
	}

	// moto's own admin, with the SDK's IAM client, makes the user and
	// her first key, and checks the outcome.
	admin := iam.New(iam.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIAMOTOADMIN0000000", "moto-admin-secret-0000000000000000000000", ""),
	})
	if _, err := admin.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("alice")}); err != nil {
		t.Fatalf("moto CreateUser: %v", err)
	}
	first, err := admin.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("alice")})
	if err != nil {
		t.Fatalf("moto CreateAccessKey: %v", err)
	}
	oldID := aws.ToString(first.AccessKey.AccessKeyId)
	store, err := keyring.Open(keyring.BackendFile, keyring.Options{Getenv: env.Getenv, HomeDir: home})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Set(ctx, "alice", keyring.Item{AccessKeyID: oldID, SecretAccessKey: aws.ToString(first.AccessKey.SecretAccessKey), Added: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := awsconfig.WriteConfigProfile(ctx, vars["AWS_CONFIG_FILE"], "alice", []awsconfig.KeyValue{
		{Key: "region", Value: "us-east-1"},
		{Key: awsconfig.KeyringBackendKey, Value: keyring.BackendFile},
		{Key: awsconfig.KeychainKeyIDKey, Value: oldID},
	}, awsconfig.WriteOptions{}); err != nil {
		t.Fatal(err)
	}

	res, err := keys.Rotate(ctx, assume.Request{Profile: "alice", Timeout: time.Minute, MFASessionTTL: assume.DefaultMFASessionDuration}, env)
	if err != nil {
		t.Fatalf("Rotate against moto: %v", err)
	}
	if res.OldKeyID != oldID || res.NewKeyID == oldID || res.NewKeyID == "" {
		t.Fatalf("Rotate = %+v", res)
	}
	list, err := admin.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String("alice")})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.AccessKeyMetadata) != 1 || aws.ToString(list.AccessKeyMetadata[0].AccessKeyId) != res.NewKeyID {
		t.Fatalf("moto holds %+v, want only %s", list.AccessKeyMetadata, res.NewKeyID)
	}
	item, err := store.Get(ctx, "alice")
	if err != nil || item.AccessKeyID != res.NewKeyID || item.Pending != nil || item.Rotated.IsZero() {
		t.Fatalf("stored item: %+v, %v", item.Pending, err)
	}
	cfg, err := awsconfig.Load(awsconfig.Files{Config: vars["AWS_CONFIG_FILE"]})
	if err != nil {
		t.Fatal(err)
	}
	p, err := cfg.Profile("alice")
	if err != nil || p.Keychain == nil || p.Keychain.AccessKeyID != res.NewKeyID {
		t.Fatalf("profile after rotation: %+v, %v", p.Keychain, err)
	}
}

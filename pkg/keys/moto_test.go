package keys_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/rolecall/rolecall/internal/mototest"
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

// TestRotateAgainstMoto rotates a key with moto's IAM and STS: the real
// SDK clients against a peer nobody here wrote. The store is the encrypted
// file; the config file names the new key afterwards, and IAM holds it
// alone.
func TestRotateAgainstMoto(t *testing.T) {
	ctx := context.Background()
	url := mototest.Start(t)
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

// Package benchkit is what the benchmark programs (scripts/bench/driver,
// scripts/bench/dos) share: the hermetic environment rolecall runs in, and
// one credential fetch as an SDK process makes it.
package benchkit

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/rolecall/rolecall/pkg/ststest"
)

// Env is this process's environment with rolecall pointed at work (HOME,
// the AWS files, the cache) and at the emulator stsURL, with the demo
// user's keys as its base credentials.
func Env(work, stsURL string) []string {
	return append(os.Environ(),
		"HOME="+work,
		"AWS_CONFIG_FILE="+filepath.Join(work, "config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(work, "credentials"),
		"ROLECALL_CACHE_DIR="+filepath.Join(work, "cache"),
		"AWS_ENDPOINT_URL_STS="+stsURL,
		"AWS_ACCESS_KEY_ID="+ststest.DemoAccessKeyID,
		"AWS_SECRET_ACCESS_KEY="+ststest.DemoSecretAccessKey,
		"AWS_EC2_METADATA_DISABLED=true",
	)
}

// StatusError is an endpoint's answer that holds no credentials.
type StatusError struct {
	Code int
	Body string
}

func (e *StatusError) Error() string { return fmt.Sprintf("status %d", e.Code) }

// Fetch is one credential fetch as an SDK process makes it: a new
// connection (the client's), GET uri with the token, the whole body read.
func Fetch(client *http.Client, uri, token string) error {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, uri, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", token)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"AccessKeyId"`) {
		return &StatusError{Code: resp.StatusCode, Body: string(body)}
	}
	return nil
}

package cli

import (
	"time"

	"github.com/rolecall/rolecall/pkg/server"
)

// endpointWindow is the endpoint's refresh window for --refresh-window:
// honoured as given, 0 included (credentials served until they expire),
// with a warning when clients would suffer from it. The SDKs fetch again
// when the credentials they hold come within their own window:
// aws-sdk-go-v2 and the JavaScript SDK 5 minutes before expiry, botocore
// (boto3, the AWS CLI) 15 minutes before, and botocore refuses credentials
// with 10 minutes or less left. Credentials served within those windows
// are fetched again at every call (or refused).
func endpointWindow(io *IO, window time.Duration) time.Duration {
	if window < server.DefaultRefreshWindow {
		io.Warnf("--refresh-window %s is shorter than the clients' own: credentials served with less than 15m left make botocore (boto3, the AWS CLI) fetch again at every call (and refuse them with 10m or less), and with less than 5m the Go and JavaScript SDKs too; keep the default (15m) for an endpoint", window)
	}
	if window == 0 {
		return -1 // server.Options: none, rather than the default
	}
	return window
}

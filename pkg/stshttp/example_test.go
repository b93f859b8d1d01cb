package stshttp_test

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/rolecall/rolecall/pkg/stshttp"
)

// The wiring a caller does: pick the CA bundle (flag, then AWS_CA_BUNDLE,
// then the profile's ca_bundle), build the client once, put it in every
// sts.Options, and put NoRetry in every retryer.
func ExampleNewClient() {
	getenv := os.Getenv // in rolecall: the IO seam's environment
	flagCABundle, profileCABundle := "", "/etc/corp/proxy-ca.pem"

	bundle := flagCABundle
	if bundle == "" {
		bundle = getenv("AWS_CA_BUNDLE")
	}
	if bundle == "" {
		bundle = profileCABundle
	}
	hc, err := stshttp.NewClient(stshttp.Options{CABundle: bundle, Getenv: getenv})
	if err != nil {
		// *CABundleError or *ProxyError: say where the path or value came
		// from (--ca-bundle, AWS_CA_BUNDLE, the profile's ca_bundle).
		var bundleErr *stshttp.CABundleError
		if errors.As(err, &bundleErr) {
			fmt.Println("rolecall: error:", err)
		}
		return
	}

	client := sts.New(sts.Options{
		Region:     "us-east-1",
		HTTPClient: hc,
		Retryer: retry.NewStandard(stshttp.NoRetry, func(o *retry.StandardOptions) {
			o.MaxAttempts = 6
		}),
	})
	_ = client

	// Where the SDK resolves base credentials itself, it needs a
	// *awshttp.BuildableClient.
	_, _ = config.LoadDefaultConfig(context.Background(),
		config.WithHTTPClient(hc.Buildable()),
		config.WithRetryer(func() aws.Retryer { return retry.NewStandard(stshttp.NoRetry) }))
}

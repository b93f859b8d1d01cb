package stshttp_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/rolecall/rolecall/pkg/stshttp"
	"github.com/rolecall/rolecall/pkg/ststest"
)

// The wiring a caller does: pick the CA bundle (flag, then AWS_CA_BUNDLE,
// then the profile's ca_bundle), build the client once, put it in every
// sts.Options, and put NoRetry in every retryer. Here against the STS
// emulator; a bundle that cannot be read is an error naming it.
func ExampleNewClient() {
	emulator := ststest.NewServer(ststest.DemoConfig())
	defer emulator.Close()

	newClient := func(getenv func(string) string, flagCABundle, profileCABundle string) (*sts.Client, error) {
		bundle := flagCABundle
		if bundle == "" {
			bundle = getenv("AWS_CA_BUNDLE")
		}
		if bundle == "" {
			bundle = profileCABundle
		}
		hc, err := stshttp.NewClient(stshttp.Options{CABundle: bundle, Getenv: getenv})
		if err != nil {
			return nil, err
		}
		// Where the SDK resolves base credentials itself, it needs a
		// *awshttp.BuildableClient.
		if _, err := config.LoadDefaultConfig(context.Background(),
			config.WithSharedConfigFiles([]string{}), config.WithSharedCredentialsFiles([]string{}), // none of this machine's
			config.WithHTTPClient(hc.Buildable()),
			config.WithRetryer(func() aws.Retryer { return retry.NewStandard(stshttp.NoRetry) })); err != nil {
			return nil, err
		}
		return sts.New(sts.Options{
			Region:       "us-east-1",
			BaseEndpoint: aws.String(emulator.URL()),
			Credentials:  credentials.NewStaticCredentialsProvider(ststest.DemoAccessKeyID, ststest.DemoSecretAccessKey, ""),
			HTTPClient:   hc,
			Retryer: retry.NewStandard(stshttp.NoRetry, func(o *retry.StandardOptions) {
				o.MaxAttempts = 6
			}),
		}), nil
	}

	// In rolecall, getenv is the IO seam's environment.
	env := map[string]string{"AWS_CA_BUNDLE": "/nonexistent/proxy-ca.pem"}
	getenv := func(name string) string { return env[name] }
	_, err := newClient(getenv, "", "")
	var bundleErr *stshttp.CABundleError
	if errors.As(err, &bundleErr) {
		// Say where the path came from (--ca-bundle, AWS_CA_BUNDLE, the
		// profile's ca_bundle).
		fmt.Println("rolecall: error: AWS_CA_BUNDLE:", bundleErr.Path, "cannot be read")
	}

	delete(env, "AWS_CA_BUNDLE")
	client, err := newClient(getenv, "", "")
	if err != nil {
		fmt.Println("rolecall: error:", err)
		return
	}
	out, err := client.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		fmt.Println("rolecall: error:", err)
		return
	}
	fmt.Println(aws.ToString(out.Arn))
	// Output:
	// rolecall: error: AWS_CA_BUNDLE: /nonexistent/proxy-ca.pem cannot be read
	// arn:aws:iam::123456789012:user/alice
}

//go:build unix

package main

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/rolecall/rolecall/pkg/eks"
	"github.com/rolecall/rolecall/pkg/ststest"
)

// execCredential is what an exec plugin prints for kubectl.
type execCredential struct {
	Kind       string `json:"kind"`
	APIVersion string `json:"apiVersion"`
	Status     struct {
		ExpirationTimestamp string `json:"expirationTimestamp"`
		Token               string `json:"token"`
	} `json:"status"`
}

func readExecCredential(ts *testscript.TestScript, file string) execCredential {
	var ec execCredential
	if err := json.Unmarshal([]byte(ts.ReadFile(file)), &ec); err != nil {
		ts.Fatalf("%s is not an ExecCredential: %v", file, err)
	}
	if ec.Kind != "ExecCredential" || ec.Status.Token == "" {
		ts.Fatalf("%s is not an ExecCredential with a token", file)
	}
	return ec
}

// cmdEKS checks EKS tokens (never printing one):
//
//	eks verify CLUSTER FILE        send FILE's token to the emulator as EKS's
//	                               authenticator does, with x-k8s-aws-id:
//	                               CLUSTER; print the caller's ARN, or with !
//	                               assert it is refused and print the code
//	eks compare FILE1 FILE2        the two tokens have the same query
//	                               parameter names, signed headers,
//	                               X-Amz-Expires and lifetime
//	eks host FILE                  print the presigned URL's scheme, host and path
//	eks lifetime FILE              print the expirationTimestamp minus the
//	                               signing time
func cmdEKS(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: eks verify|compare|lifetime ...")
	}
	switch args[0] {
	case "verify":
		ec := readExecCredential(ts, args[2])
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		arn, err := server(ts).VerifyEKSToken(ctx, ec.Status.Token, args[1])
		if ctx.Err() != nil {
			ts.Fatalf("the emulator hung verifying the token")
		}
		var te *ststest.EKSTokenError
		switch {
		case err == nil && neg:
			ts.Fatalf("the emulator accepted the token for %s", arn)
		case err == nil:
			_, _ = fmt.Fprintln(ts.Stdout(), arn)
		case neg && errors.As(err, &te):
			_, _ = fmt.Fprintln(ts.Stdout(), te.Code)
		default:
			ts.Fatalf("verify: %v", err)
		}
	case "compare":
		a, b := tokenShape(ts, args[1]), tokenShape(ts, args[2])
		if (a == b) == neg {
			ts.Fatalf("tokens differ:\n%s: %s\n%s: %s", args[1], a, args[2], b)
		}
	case "host":
		ec := readExecCredential(ts, args[1])
		u, err := eks.DecodeToken(ec.Status.Token)
		ts.Check(err)
		_, _ = fmt.Fprintf(ts.Stdout(), "%s://%s%s\n", u.Scheme, u.Host, u.Path)
	case "lifetime":
		_, _ = fmt.Fprintln(ts.Stdout(), lifetime(ts, args[1]))
	default:
		ts.Fatalf("unknown eks command %q", args[0])
	}
}

// tokenShape is what two clients' tokens must share: the query parameter
// names, the signed headers, X-Amz-Expires, the lifetime (to the minute).
func tokenShape(ts *testscript.TestScript, file string) string {
	ec := readExecCredential(ts, file)
	u, err := eks.DecodeToken(ec.Status.Token)
	ts.Check(err)
	q := u.Query()
	var names []string
	for k := range q {
		names = append(names, k)
	}
	slices.Sort(names)
	return fmt.Sprintf("params=%s signed=%s expires=%s lifetime=%s path=%s",
		strings.Join(names, ","), q.Get("X-Amz-SignedHeaders"), q.Get("X-Amz-Expires"), lifetime(ts, file), u.Path)
}

// lifetime is the token's expirationTimestamp minus its X-Amz-Date, to the
// minute.
func lifetime(ts *testscript.TestScript, file string) time.Duration {
	ec := readExecCredential(ts, file)
	u, err := eks.DecodeToken(ec.Status.Token)
	ts.Check(err)
	signed, err := time.Parse("20060102T150405Z", u.Query().Get("X-Amz-Date"))
	ts.Check(err)
	expires, err := time.Parse(time.RFC3339, ec.Status.ExpirationTimestamp)
	ts.Check(err)
	return expires.Sub(signed).Round(time.Minute)
}

// cmdKubeAPI starts a small Kubernetes API server for kubectl (TLS with a
// generated certificate) that authenticates bearer tokens as an EKS
// cluster does: it sends each to the emulator (VerifyEKSToken) with
// x-k8s-aws-id: CLUSTER. GET /whoami answers the caller's ARN; anything
// unauthenticated gets 401 as kube-apiserver sends it.
//
//	kubeapi start CLUSTER   start it: KUBE_SERVER is its URL, $WORK/kube-ca.pem its CA
//	kubeapi calls N         assert N authenticated requests so far
func cmdKubeAPI(ts *testscript.TestScript, neg bool, args []string) {
	switch {
	case len(args) == 2 && args[0] == "start":
		sts := server(ts)
		cluster := args[1]
		var authenticated atomic.Int64
		api := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			arn := ""
			var err error
			if ok {
				arn, err = sts.VerifyEKSToken(r.Context(), token, cluster)
			}
			if !ok || err != nil {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				_, _ = fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}`)
				return
			}
			authenticated.Add(1)
			if r.URL.Path != "/whoami" {
				http.NotFound(w, r)
				return
			}
			_, _ = fmt.Fprintln(w, arn)
		}))
		api.StartTLS()
		ts.Defer(api.Close)
		kubeAPIs.Store(ts, &authenticated)
		ts.Defer(func() { kubeAPIs.Delete(ts) })
		ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: api.Certificate().Raw})
		ts.Check(os.WriteFile(ts.MkAbs("kube-ca.pem"), ca, 0o600))
		ts.Setenv("KUBE_SERVER", api.URL)
	case len(args) == 2 && args[0] == "calls":
		v, ok := kubeAPIs.Load(ts)
		if !ok {
			ts.Fatalf("no API server: run 'kubeapi start' first")
		}
		got := v.(*atomic.Int64).Load()
		if (fmt.Sprint(got) == args[1]) == neg {
			ts.Fatalf("the API server authenticated %d request(s), want %s", got, args[1])
		}
	default:
		ts.Fatalf("usage: kubeapi start CLUSTER | kubeapi calls N")
	}
}

// kubeAPIs are the running API servers' counts of authenticated requests,
// by script.
var kubeAPIs sync.Map

package ststest

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"time"
)

// The services whose calls the log records (Call.Service).
const (
	// ServiceSTS is AWS STS (the Query protocol at /).
	ServiceSTS = "sts"
	// ServiceIAM is IAM's access key actions (iam.go).
	ServiceIAM = "iam"
	// ServiceSSO is the IAM Identity Center portal (/federation/credentials,
	// /assignment/accounts, /assignment/roles, /logout).
	ServiceSSO = "sso"
	// ServiceSignin is the console federation endpoint (/federation).
	ServiceSignin = "signin"
)

// Call is one request the emulator received, as the call log records it.
type Call struct {
	// Time is the emulator's credential clock when the call arrived.
	Time time.Time `json:"time"`
	// Service is the service called: ServiceSTS, ServiceSSO or
	// ServiceSignin.
	Service string `json:"service"`
	// Action is the operation: the STS action named in the request, the
	// portal operation (GetRoleCredentials, ListAccounts, ListAccountRoles,
	// Logout), or the federation endpoint's Action (getSigninToken, login).
	Action string `json:"action"`
	// Caller is who made the call: the ARN of the signing principal for
	// STS, the Identity Center user name behind the access token for the
	// portal, the ARN of the session for getSigninToken and login; "" when
	// the request was unsigned or its credentials were not accepted.
	Caller string `json:"caller"`
	// Params holds every request parameter except Action and Version, with
	// the Query protocol's keys (e.g. "PolicyArns.member.1.arn",
	// "Tags.member.1.Key") and the portal's query keys (account_id,
	// role_name, max_result, next_token). Secrets never appear:
	// WebIdentityToken and the federation endpoint's Session and
	// SigninToken, and a presigned request's X-Amz-Security-Token and
	// X-Amz-Signature, are replaced by "<redacted>", and access tokens (a
	// header) are not parameters. A request's x-k8s-aws-id header (an EKS
	// token's cluster) is kept under that key.
	Params map[string]string `json:"params"`
	// Error is the error code of the answer ("" on success): STS's code, the
	// portal's exception name, or the federation endpoint's (see
	// docs/ststest.md).
	Error string `json:"error"`
	// Fault is the kind of the fault applied to the call, if any.
	Fault string `json:"fault,omitempty"`
	// Method and QueryKeys, for the federation endpoint: the HTTP method,
	// and the names (never the values) of the parameters that came in the
	// URL rather than a form body. The endpoint takes either, as AWS's
	// does; a client should POST credentials, which a URL would leak into
	// logs and proxies.
	Method    string   `json:"method,omitempty"`
	QueryKeys []string `json:"queryKeys,omitempty"`
}

// Calls returns a copy of the call log, oldest first.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Call, len(s.calls))
	for i, c := range s.calls {
		c.Params = cloneParams(c.Params)
		c.QueryKeys = slices.Clone(c.QueryKeys)
		out[i] = c
	}
	return out
}

// CallCount counts the calls of an action, failed ones included; "" counts
// every call.
func (s *Server) CallCount(action string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		if action == "" || c.Action == action {
			n++
		}
	}
	return n
}

// ResetCalls empties the call log.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = nil
	s.signalCallsLocked()
}

func cloneParams(p map[string]string) map[string]string {
	out := make(map[string]string, len(p))
	for k, v := range p {
		out[k] = v
	}
	return out
}

// logParams keeps every parameter for the call log except Action, Version
// and secrets.
func logParams(params url.Values) map[string]string {
	out := map[string]string{}
	for k, vs := range params {
		if k == "Action" || k == "Version" || len(vs) == 0 {
			continue
		}
		if k == "WebIdentityToken" || k == amzSecurityTokenParam || k == amzSignatureParam {
			out[k] = "<redacted>"
			continue
		}
		out[k] = vs[0]
	}
	return out
}

func (s *Server) record(c Call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, c)
	s.signalCallsLocked()
}

func (s *Server) signalCallsLocked() {
	close(s.callsSignal)
	s.callsSignal = make(chan struct{})
}

// WaitCalls blocks until the call log holds at least n calls, or ctx ends.
// A test uses it to know that a request it will get no answer to (a hang
// fault, a dropped connection) has reached the emulator.
func (s *Server) WaitCalls(ctx context.Context, n int) error {
	for {
		s.mu.Lock()
		if len(s.calls) >= n {
			s.mu.Unlock()
			return nil
		}
		changed := s.callsSignal
		s.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("wait for %d calls: %w", n, ctx.Err())
		}
	}
}

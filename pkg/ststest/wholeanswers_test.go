package ststest_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"testing/iotest"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/rolecall/rolecall/pkg/ststest"
)

// wholeAnswers is the HTTP client of the tests' SDK clients, which have
// retries off so that each answer of the emulator reaches the test as it was
// sent. It reads each answer whole before the SDK sees it, and sends the
// request again, once, when the connection was closed under an answer the
// emulator logged as sent whole without an injected fault.
//
// A busy machine met it here once in some forty runs of this package: the
// connection was closed under an answer after its headers arrived, and the
// SDK read net.ErrClosed ("use of closed network connection"). The SDK's
// default retryer retries that error (aws/aws-sdk-go-v2#2737, #2949; its
// maintainers trace it to how the standard library reads a TCP reset). A
// dropped or truncated connection a test asks for still reaches the test.
type wholeAnswers struct {
	s    *ststest.Server
	next sts.HTTPClient
}

// maxAnswerBytes caps what wholeAnswers reads of a request or an answer, as
// rolecall's own client caps an answer (stshttp.DefaultMaxBodyBytes): the
// emulator's largest, a session token, is a few kilobytes. An answer cut
// here fails to parse and a request fails to send (its Content-Length).
const maxAnswerBytes = 1 << 20

func (c wholeAnswers) Do(r *http.Request) (*http.Response, error) {
	// An empty body stays as it is: another would be sent chunked.
	hasBody := r.Body != nil && r.Body != http.NoBody
	var body []byte
	if hasBody {
		var err error
		body, err = io.ReadAll(io.LimitReader(r.Body, maxAnswerBytes))
		_ = r.Body.Close()
		if err != nil {
			return nil, err
		}
	}
	for resent := false; ; resent = true {
		if hasBody {
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		resp, err := c.next.Do(r)
		if err != nil {
			return nil, err
		}
		answer, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
		_ = resp.Body.Close()
		if err != nil && !resent && c.lost(err) {
			continue
		}
		var rest io.Reader = bytes.NewReader(answer)
		if err != nil {
			rest = io.MultiReader(rest, iotest.ErrReader(err))
		}
		resp.Body = io.NopCloser(rest)
		return resp, nil
	}
}

// lost says whether err closed the connection under an answer the emulator
// logged as sent whole, with no fault a test injected.
func (c wholeAnswers) lost(err error) bool {
	if !errors.Is(err, net.ErrClosed) {
		return false
	}
	calls := c.s.Calls()
	return len(calls) > 0 && calls[len(calls)-1].Fault == ""
}

// TestWholeAnswersSendAgainOnlyWhatTheConnectionLost: an answer longer than
// the transport's first read (the policy-too-long ValidationError echoes the
// policy), on a connection closed after its headers, reaches the SDK as
// "use of closed network connection" from a plain client, and as the
// emulator sent it through wholeAnswers, which sent the request twice. An
// error after a fault the test injected is not sent again.
func TestWholeAnswersSendAgainOnlyWhatTheConnectionLost(t *testing.T) {
	in := &sts.AssumeRoleInput{RoleArn: aws.String(ststest.DemoRoleARN("demo")), RoleSessionName: aws.String("s1"),
		Policy: aws.String(policyWithStatements(30))}
	for _, tt := range []struct {
		name  string
		whole bool
	}{{"plain", false}, {"whole answers", true}} {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t)
			var http1 sts.HTTPClient = losesFirstAnswer()
			if tt.whole {
				http1 = wholeAnswers{s: s, next: http1}
			}
			c := client(t, s, ststest.DemoAccessKeyID, ststest.DemoSecretAccessKey, "", func(o *sts.Options) { o.HTTPClient = http1 })
			_, err := c.AssumeRole(context.Background(), in)
			if !tt.whole {
				if !errors.Is(err, net.ErrClosed) {
					t.Fatalf("a plain client got %v, want the closed connection (the test no longer loses the answer)", err)
				}
				return
			}
			wantAPIError(t, err, "ValidationError", http.StatusBadRequest, "at 'policy' failed to satisfy constraint")
			if n := s.CallCount("AssumeRole"); n != 2 {
				t.Errorf("%d AssumeRole calls, want the lost one and the one sent again", n)
			}
		})
	}

	s := newServer(t)
	w := wholeAnswers{s: s}
	closed := &net.OpError{Op: "read", Net: "tcp", Err: net.ErrClosed}
	if _, err := alice(t, s).GetCallerIdentity(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if !w.lost(closed) || w.lost(io.ErrUnexpectedEOF) {
		t.Errorf("after an answer without a fault: lost(closed) = %t, lost(unexpected EOF) = %t; want true, false", w.lost(closed), w.lost(io.ErrUnexpectedEOF))
	}
	s.SetFaults(ststest.Fault{Action: "GetCallerIdentity", Kind: ststest.FaultDrop, Count: 1})
	if _, err := alice(t, s).GetCallerIdentity(context.Background(), nil); err == nil {
		t.Fatal("a dropped connection succeeded")
	}
	if w.lost(closed) {
		t.Error("a connection closed after a fault the test injected counts as lost: it would be sent again")
	}
}

// losesFirstAnswer is an SDK HTTP client whose first connection is closed
// here after the first read that holds the end of an answer's headers.
func losesFirstAnswer() *awshttp.BuildableClient {
	var dialed atomic.Bool
	return awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		dial := tr.DialContext
		tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := dial(ctx, network, addr)
			if err != nil || dialed.Swap(true) {
				return conn, err
			}
			return &closesAfterHeaders{Conn: conn}, nil
		}
	})
}

type closesAfterHeaders struct {
	net.Conn
	seen []byte
}

func (c *closesAfterHeaders) Read(p []byte) (int, error) {
	if bytes.Contains(c.seen, []byte("\r\n\r\n")) {
		_ = c.Close()
	}
	n, err := c.Conn.Read(p)
	if len(c.seen) < 1<<16 {
		c.seen = append(c.seen, p[:n]...)
	}
	return n, err
}

package assume

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go"

	"github.com/rolecall/rolecall/pkg/ststest"
)

// TestTruncatedAnswerIsRetriedUnlessItCarriedACode: a truncated answer is
// retried, except for a call that sent an MFA code, which STS may have
// used already and would refuse the second time.
func TestTruncatedAnswerIsRetriedUnlessItCarriedACode(t *testing.T) {
	t.Run("no code: retried", func(t *testing.T) {
		w := newWorld(t, ststest.DemoConfig(), "", demoCredentials)
		w.sts.SetFaults(ststest.Fault{Action: "AssumeRole", Kind: ststest.FaultTruncate, Count: 1})
		req := w.request(demo)
		req.Profile = "alice"
		if _, err := Obtain(context.Background(), req, w.with(nil)); err != nil {
			t.Fatalf("after one truncated answer: %v", err)
		}
		if n := w.sts.CallCount("AssumeRole"); n != 2 {
			t.Errorf("%d AssumeRole calls, want 2", n)
		}
	})
	t.Run("a code: not retried", func(t *testing.T) {
		w := newWorld(t, ststest.DemoConfig(), "[profile mfa]\nrole_arn = "+ststest.DemoRoleARN("needs-mfa")+
			"\nsource_profile = alice\nmfa_serial = "+ststest.DemoMFASerial+"\n", demoCredentials)
		w.sts.SetFaults(ststest.Fault{Action: "GetSessionToken", Kind: ststest.FaultTruncate, Count: 1})
		if _, err := Obtain(context.Background(), w.request("mfa"), w.with(nil)); err == nil {
			t.Fatal("a truncated answer to a call with a code succeeded")
		}
		if n := w.sts.CallCount("GetSessionToken"); n != 1 {
			t.Errorf("%d GetSessionToken calls, want 1: the code must not be sent twice", n)
		}
	})
}

// TestTimeoutNamesSTSLastAnswer: when --timeout ends a call while the SDK
// backs off from STS's answers, the error keeps the last answer (the CLI
// prints "timed out while STS kept answering Throttling").
func TestTimeoutNamesSTSLastAnswer(t *testing.T) {
	w := newWorld(t, ststest.DemoConfig(), "", demoCredentials)
	w.sts.SetFaults(ststest.Fault{Action: "AssumeRole", Kind: ststest.FaultThrottle})
	req := w.request(demo)
	req.Profile, req.Timeout = "alice", time.Second
	_, err := Obtain(context.Background(), req, w.with(nil))
	var ce *CallError
	if !errors.As(err, &ce) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want a CallError that timed out", err)
	}
	var api smithy.APIError
	if !errors.As(ce.LastAnswer, &api) || api.ErrorCode() != "Throttling" {
		t.Errorf("LastAnswer %v, want STS's Throttling", ce.LastAnswer)
	}
}

// TestCallErrorNamesActionAndTarget: "Action Target: error", or
// "Action: error" for a call on no particular target.
func TestCallErrorNamesActionAndTarget(t *testing.T) {
	cause := errors.New("AccessDenied")
	if got := (&CallError{Action: "AssumeRole", Target: demo, Err: cause}).Error(); got != "AssumeRole "+demo+": AccessDenied" {
		t.Errorf("with a target: %q", got)
	}
	if got := (&CallError{Action: "GetCallerIdentity", Err: cause}).Error(); got != "GetCallerIdentity: AccessDenied" {
		t.Errorf("without a target: %q", got)
	}
}

// TestAnswerWithoutDateIsJudgedByTheCallersClock: an STS that sends no
// Date header (some STS implementations and proxies) is judged by Env.Now,
// the clock the caller gave, not by the machine's.
func TestAnswerWithoutDateIsJudgedByTheCallersClock(t *testing.T) {
	w := newWorld(t, ststest.DemoConfig(), "", demoCredentials)
	noDate := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.sts.Handler().ServeHTTP(dropDate{rw}, r)
	}))
	t.Cleanup(noDate.Close)
	// The emulator's credential clock is 3 hours behind this machine's: its
	// one-hour credentials expired 2 hours ago by the machine's clock, and
	// are fresh by the emulator's, which the world passes as Env.Now.
	w.sts.Advance(-3 * time.Hour)
	req := w.request(demo)
	req.Profile = "alice"
	res, err := Obtain(context.Background(), req, w.with(map[string]string{"AWS_ENDPOINT_URL_STS": noDate.URL}))
	if err != nil {
		t.Fatalf("fresh credentials by Env.Now: %v", err)
	}
	if left := res.Credentials.Expiration.Sub(w.sts.Now()); left < 50*time.Minute {
		t.Errorf("credentials last %s by the emulator's clock, want an hour", left)
	}
}

// dropDate is a ResponseWriter that sends no Date header.
type dropDate struct{ http.ResponseWriter }

func (d dropDate) WriteHeader(code int) {
	d.Header()["Date"] = nil // nil, not deleted: net/http then adds none
	d.ResponseWriter.WriteHeader(code)
}

func (d dropDate) Write(b []byte) (int, error) {
	d.Header()["Date"] = nil
	return d.ResponseWriter.Write(b)
}

// TestTimeoutMustBePositive: a zero --timeout is refused, not a deadline
// that has already passed.
func TestTimeoutMustBePositive(t *testing.T) {
	w := newWorld(t, ststest.DemoConfig(), "", demoCredentials)
	req := w.request(demo)
	req.Profile, req.Timeout = "alice", 0
	_, err := Obtain(context.Background(), req, w.with(nil))
	var ue *UsageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "--timeout 0s") {
		t.Errorf("error %v, want a usage error about --timeout 0s", err)
	}
	if n := w.sts.CallCount(""); n != 0 {
		t.Errorf("%d calls made", n)
	}
}

package ststest_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/rolecall/rolecall/pkg/ststest"
)

const (
	msgInvalidCode   = "MultiFactorAuthentication failed with invalid MFA one time pass code. "
	msgUnknownDevice = "MultiFactorAuthentication failed, unable to validate MFA code.  Please verify your MFA serial number is valid and associated with this user."
)

// wrongCode returns a six-digit code that is none of the codes valid now.
func wrongCode(s *ststest.Server) string {
	valid := map[string]bool{}
	for _, d := range []time.Duration{-30 * time.Second, 0, 30 * time.Second} {
		s.Advance(d)
		valid[s.TOTP(ststest.DemoMFASerial)] = true
		s.Advance(-d)
	}
	for _, c := range []string{"000000", "111111", "222222", "333333"} {
		if !valid[c] {
			return c
		}
	}
	panic("no wrong code found")
}

func TestGetSessionToken(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	tests := []struct {
		name     string
		duration *int32
		lifetime time.Duration
		msg      string
	}{
		{"default twelve hours", nil, 12 * time.Hour, ""},
		{"shortest", aws.Int32(900), 15 * time.Minute, ""},
		{"longest", aws.Int32(129600), 36 * time.Hour, ""},
		{"too short", aws.Int32(899), 0,
			"1 validation error detected: Value '899' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"},
		{"too long", aws.Int32(129601), 0,
			"1 validation error detected: Value '129601' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 129600"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := alice(t, s).GetSessionToken(ctx, &sts.GetSessionTokenInput{DurationSeconds: tt.duration})
			if tt.msg != "" {
				wantAPIError(t, err, "ValidationError", http.StatusBadRequest, tt.msg)
				return
			}
			if err != nil {
				t.Fatalf("GetSessionToken: %v", err)
			}
			checkCredentials(t, s, out.Credentials, tt.lifetime)
			checkTokenSize(t, out.Credentials, out.SessionTokenSize, out.SessionTokenUtilization)
			id, err := with(t, s, out.Credentials).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			if err != nil {
				t.Fatalf("GetCallerIdentity with session credentials: %v", err)
			}
			if aws.ToString(id.Arn) != ststest.DemoUserARN {
				t.Errorf("session identity %s, want the user %s", aws.ToString(id.Arn), ststest.DemoUserARN)
			}
		})
	}

	t.Run("refused with session credentials", func(t *testing.T) {
		session, err := alice(t, s).GetSessionToken(ctx, &sts.GetSessionTokenInput{})
		if err != nil {
			t.Fatal(err)
		}
		role := assume(t, alice(t, s), &sts.AssumeRoleInput{RoleArn: aws.String(ststest.DemoRoleARN("demo")), RoleSessionName: aws.String("r1")})
		for name, c := range map[string]*sts.Client{
			"GetSessionToken credentials": with(t, s, session.Credentials),
			"role credentials":            with(t, s, role.Credentials),
		} {
			_, err := c.GetSessionToken(ctx, &sts.GetSessionTokenInput{})
			wantAPIError(t, err, "AccessDenied", http.StatusForbidden, "Cannot call GetSessionToken with session credentials")
			if e := lastCall(t, s, "GetSessionToken").Error; e != "AccessDenied" {
				t.Errorf("%s: logged error %q", name, e)
			}
		}
	})
}

func TestMFA(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	needsMFA := ststest.DemoRoleARN("needs-mfa")
	assumeMFA := func(c *sts.Client, serial, code string) (*sts.AssumeRoleOutput, error) {
		in := &sts.AssumeRoleInput{RoleArn: aws.String(needsMFA), RoleSessionName: aws.String("mfa")}
		if serial != "" {
			in.SerialNumber, in.TokenCode = aws.String(serial), aws.String(code)
		}
		return c.AssumeRole(ctx, in)
	}

	_, err := assumeMFA(alice(t, s), "", "")
	wantAPIError(t, err, "AccessDenied", http.StatusForbidden,
		"User: arn:aws:iam::123456789012:user/alice is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::123456789012:role/needs-mfa")

	code := s.TOTP(ststest.DemoMFASerial)
	if _, err := assumeMFA(alice(t, s), ststest.DemoMFASerial, code); err != nil {
		t.Fatalf("AssumeRole with a valid code: %v", err)
	}
	if c := lastCall(t, s, "AssumeRole"); c.Params["SerialNumber"] != ststest.DemoMFASerial || c.Params["TokenCode"] != code {
		t.Errorf("logged SerialNumber %q TokenCode %q", c.Params["SerialNumber"], c.Params["TokenCode"])
	}
	_, err = assumeMFA(alice(t, s), ststest.DemoMFASerial, code)
	wantAPIError(t, err, "AccessDenied", http.StatusForbidden, msgInvalidCode)

	s.Advance(30 * time.Second)
	if _, err := assumeMFA(alice(t, s), ststest.DemoMFASerial, s.TOTP(ststest.DemoMFASerial)); err != nil {
		t.Fatalf("AssumeRole with the next code: %v", err)
	}

	tests := []struct {
		name   string
		serial string
		code   string
		errors string
		msg    string
	}{
		{"wrong code", ststest.DemoMFASerial, wrongCode(s), "AccessDenied", msgInvalidCode},
		{"unknown device", "arn:aws:iam::123456789012:mfa/bob", "123456", "AccessDenied", msgUnknownDevice},
		{"code of five digits", ststest.DemoMFASerial, "12345", "ValidationError",
			"1 validation error detected: Value '12345' at 'tokenCode' failed to satisfy constraint: Member must have length greater than or equal to 6"},
		{"code with letters", ststest.DemoMFASerial, "12345a", "ValidationError",
			`1 validation error detected: Value '12345a' at 'tokenCode' failed to satisfy constraint: Member must satisfy regular expression pattern: [\d]*`},
		{"serial too short", "arn:mfa", "123456", "ValidationError",
			"1 validation error detected: Value 'arn:mfa' at 'serialNumber' failed to satisfy constraint: Member must have length greater than or equal to 9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := assumeMFA(alice(t, s), tt.serial, tt.code)
			status := http.StatusForbidden
			if tt.errors == "ValidationError" {
				status = http.StatusBadRequest
			}
			wantAPIError(t, err, tt.errors, status, tt.msg)
			if got := apiMessage(err); got != tt.msg {
				t.Errorf("message %q, want %q", got, tt.msg)
			}
		})
	}

	t.Run("code one step old or one step ahead", func(t *testing.T) {
		for _, skew := range []time.Duration{-30 * time.Second, 30 * time.Second} {
			s.Advance(90 * time.Second)
			s.Advance(skew)
			code := s.TOTP(ststest.DemoMFASerial)
			s.Advance(-skew)
			if _, err := assumeMFA(alice(t, s), ststest.DemoMFASerial, code); err != nil {
				t.Errorf("code %v away: %v", skew, err)
			}
		}
	})

	t.Run("code two steps old", func(t *testing.T) {
		s.Advance(90 * time.Second)
		code := s.TOTP(ststest.DemoMFASerial)
		s.Advance(60 * time.Second)
		_, err := assumeMFA(alice(t, s), ststest.DemoMFASerial, code)
		wantAPIError(t, err, "AccessDenied", http.StatusForbidden, msgInvalidCode)
	})

	t.Run("MFA session from GetSessionToken", func(t *testing.T) {
		s.Advance(30 * time.Second)
		session, err := alice(t, s).GetSessionToken(ctx, &sts.GetSessionTokenInput{
			SerialNumber: aws.String(ststest.DemoMFASerial), TokenCode: aws.String(s.TOTP(ststest.DemoMFASerial)),
		})
		if err != nil {
			t.Fatalf("GetSessionToken with MFA: %v", err)
		}
		if _, err := assumeMFA(with(t, s, session.Credentials), "", ""); err != nil {
			t.Fatalf("AssumeRole needs-mfa with an MFA session: %v", err)
		}
		// AssumeRole with GetSessionToken credentials is limited as role
		// chaining is.
		_, err = with(t, s, session.Credentials).AssumeRole(ctx, &sts.AssumeRoleInput{
			RoleArn: aws.String(needsMFA), RoleSessionName: aws.String("long"), DurationSeconds: aws.Int32(7200),
		})
		wantAPIError(t, err, "ValidationError", http.StatusBadRequest,
			"The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")

		plain, err := alice(t, s).GetSessionToken(ctx, &sts.GetSessionTokenInput{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = assumeMFA(with(t, s, plain.Credentials), "", "")
		wantAPIError(t, err, "AccessDenied", http.StatusForbidden, "is not authorized to perform: sts:AssumeRole")
	})

	t.Run("GetSessionToken with a used code", func(t *testing.T) {
		s.Advance(30 * time.Second)
		code := s.TOTP(ststest.DemoMFASerial)
		in := &sts.GetSessionTokenInput{SerialNumber: aws.String(ststest.DemoMFASerial), TokenCode: aws.String(code)}
		if _, err := alice(t, s).GetSessionToken(ctx, in); err != nil {
			t.Fatal(err)
		}
		_, err := alice(t, s).GetSessionToken(ctx, in)
		wantAPIError(t, err, "AccessDenied", http.StatusForbidden, msgInvalidCode)
	})

	t.Run("role session naming an MFA device", func(t *testing.T) {
		s.Advance(30 * time.Second)
		demo := assume(t, alice(t, s), &sts.AssumeRoleInput{RoleArn: aws.String(ststest.DemoRoleARN("demo")), RoleSessionName: aws.String("d1")})
		_, err := with(t, s, demo.Credentials).AssumeRole(ctx, &sts.AssumeRoleInput{
			RoleArn: aws.String(ststest.DemoRoleARN("chained")), RoleSessionName: aws.String("c1"),
			SerialNumber: aws.String(ststest.DemoMFASerial), TokenCode: aws.String(s.TOTP(ststest.DemoMFASerial)),
		})
		wantAPIError(t, err, "AccessDenied", http.StatusForbidden, msgUnknownDevice)
	})
}

// TestMFACarriesIntoChainedSessions checks aws:MultiFactorAuthPresent
// passing from a session made with MFA to the roles it assumes.
func TestMFACarriesIntoChainedSessions(t *testing.T) {
	cfg := ststest.DemoConfig()
	cfg.Roles = append(cfg.Roles, ststest.Role{
		ARN:   ststest.DemoRoleARN("admin"),
		Trust: ststest.Trust{Principals: []string{ststest.DemoRoleARN("demo")}, RequireMFA: true},
	})
	s := ststest.NewServer(cfg)
	t.Cleanup(s.Close)
	ctx := context.Background()
	toAdmin := &sts.AssumeRoleInput{RoleArn: aws.String(ststest.DemoRoleARN("admin")), RoleSessionName: aws.String("admin")}

	plain := assume(t, alice(t, s), &sts.AssumeRoleInput{RoleArn: aws.String(ststest.DemoRoleARN("demo")), RoleSessionName: aws.String("plain")})
	_, err := with(t, s, plain.Credentials).AssumeRole(ctx, toAdmin)
	wantAPIError(t, err, "AccessDenied", http.StatusForbidden,
		"User: arn:aws:sts::123456789012:assumed-role/demo/plain is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::123456789012:role/admin")

	withMFA := assume(t, alice(t, s), &sts.AssumeRoleInput{
		RoleArn: aws.String(ststest.DemoRoleARN("demo")), RoleSessionName: aws.String("mfa"),
		SerialNumber: aws.String(ststest.DemoMFASerial), TokenCode: aws.String(s.TOTP(ststest.DemoMFASerial)),
	})
	if _, err := with(t, s, withMFA.Credentials).AssumeRole(ctx, toAdmin); err != nil {
		t.Fatalf("AssumeRole admin from an MFA session: %v", err)
	}
}

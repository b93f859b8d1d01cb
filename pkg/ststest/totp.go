package ststest

import (
	"crypto/subtle"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// totpStep is RFC 6238's time step, which virtual MFA devices use.
const totpStep = 30

var totpOpts = totp.ValidateOpts{Period: totpStep, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// totpCode returns the code of a base32 secret for a time step counter.
func totpCode(secret string, counter int64) (string, error) {
	return totp.GenerateCodeCustom(secret, time.Unix(counter*totpStep, 0), totpOpts)
}

// matchTOTP returns the time step whose code equals code, accepting one step
// of skew either way as RFC 6238 §5.2 recommends, or ok=false.
func matchTOTP(secret, code string, now time.Time) (counter int64, ok bool) {
	current := now.Unix() / totpStep
	for _, c := range []int64{current, current - 1, current + 1} {
		want, err := totpCode(secret, c)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return c, true
		}
	}
	return 0, false
}

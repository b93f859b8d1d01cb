package stshttp

import (
	"fmt"
	"io"
)

// BodyTooLargeError is the error a response body's Read returns once more
// than Limit bytes would have been read, or at once when the response
// declares a Content-Length over Limit. Something other than STS answered
// (a proxy's page, a wrong endpoint) or the answer is broken; trying again
// brings the same, so IsErrorRetryable says not to.
type BodyTooLargeError struct {
	// Limit is the number of bytes a body may have.
	Limit int64
}

func (e *BodyTooLargeError) Error() string {
	return fmt.Sprintf("response body is larger than %d bytes, more than an STS answer can be", e.Limit)
}

// limitedBody lets limit bytes of body through and then fails every Read
// with *BodyTooLargeError. The error is sticky: after the SDK's
// deserializer gives up, smithyhttp.CloseResponseBody drains the body to
// EOF before closing it "to allow connection reuse", and that drain must
// stop at once too, not read the rest of an endless body. Closing a body
// that is not at EOF makes net/http drop the connection instead.
type limitedBody struct {
	body      io.ReadCloser
	remaining int64 // bytes still allowed
	limit     int64
	err       error // sticky *BodyTooLargeError
}

func newLimitedBody(body io.ReadCloser, contentLength, limit int64) *limitedBody {
	b := &limitedBody{body: body, remaining: limit, limit: limit}
	if contentLength > limit {
		b.err = &BodyTooLargeError{Limit: limit}
	}
	return b
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	// Ask for one byte more than allowed: a body of exactly limit bytes
	// ends with EOF, a longer one shows that byte.
	if int64(len(p)) > b.remaining+1 {
		p = p[:b.remaining+1]
	}
	n, err := b.body.Read(p)
	if int64(n) > b.remaining {
		n = int(b.remaining)
		b.remaining = 0
		b.err = &BodyTooLargeError{Limit: b.limit}
		return n, b.err
	}
	b.remaining -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error { return b.body.Close() }

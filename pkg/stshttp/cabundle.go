package stshttp

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"

	"github.com/rolecall/rolecall/pkg/safefile"
)

// maxCABundleBytes bounds what is read of a CA bundle. The Mozilla bundle
// that Debian and certifi ship is about 220 KB; a corporate bundle appended
// to it stays well under this, while a path naming /dev/zero or a huge file
// by mistake fails at once.
const maxCABundleBytes = 4 << 20

// CABundleError reports a CA bundle that cannot be used: missing,
// unreadable, not a regular file, too large, or holding no PEM certificate.
// Saying where the path came from (--ca-bundle, AWS_CA_BUNDLE, a profile's
// ca_bundle) is the caller's part.
type CABundleError struct {
	// Path is the bundle's path as given.
	Path string
	// Err says what is wrong; for a file that cannot be opened or read it
	// is the system's error (errors.Is(err, fs.ErrNotExist) works).
	Err error
}

func (e *CABundleError) Error() string {
	return fmt.Sprintf("CA bundle %s: %v", e.Path, e.Err)
}

// Unwrap returns the reason.
func (e *CABundleError) Unwrap() error { return e.Err }

var errNoCertificates = errors.New("no PEM certificate (-----BEGIN CERTIFICATE-----) in it; a DER file must be converted to PEM first")

// loadCABundle reads a PEM bundle into a new pool that holds only its
// certificates: the bundle replaces the system roots, it does not add to
// them. That is what both AWS implementations do:
//
//   - botocore passes the path as urllib3's ca_certs
//     (botocore/httpsession.py: _setup_ssl_cert sets conn.ca_certs =
//     get_cert_path(verify), and get_cert_path returns a path verify as it
//     is), and urllib3 loads the system's default certificates only when no
//     ca_certs is given (urllib3/util/ssl_.py, ssl_wrap_socket). Checked
//     against botocore 1.43.11 and the AWS CLI 2.9.19's vendored botocore.
//   - aws-sdk-go-v2's config.resolveCustomCABundle (config/resolve.go,
//     config v1.33.18) sets the transport's RootCAs to x509.NewCertPool()
//     when it is nil, as it is in the SDK's default transport, and appends
//     the bundle's certificates to that empty pool; its documentation says
//     the option "will cause the SDK to overwrite the Transport's TLS
//     config's RootCAs value" (config/env_config.go, CustomCABundle).
//
// So behind a TLS-inspecting proxy the bundle must hold the proxy's CA, and
// a bundle used without the proxy must hold the public roots too.
//
// The file is checked with stat before it is opened: opening a FIFO would
// block.
func loadCABundle(path string) (*x509.CertPool, error) {
	data, err := readRegularFile(path, maxCABundleBytes)
	if err != nil {
		return nil, &CABundleError{Path: path, Err: err}
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, &CABundleError{Path: path, Err: errNoCertificates}
	}
	return pool, nil
}

// readRegularFile reads a regular file of at most limit bytes, without
// ever blocking on a FIFO (safefile.ReadFile). Errors from the file system
// lose their *fs.PathError wrapper: the caller names the path.
func readRegularFile(path string, limit int64) ([]byte, error) {
	data, err := safefile.ReadFile(path, safefile.ReadOptions{MaxSize: limit})
	switch {
	case errors.Is(err, safefile.ErrTooLarge):
		return nil, tooLarge(limit)
	case err != nil:
		return nil, unwrapPath(err)
	}
	return data, nil
}

func tooLarge(limit int64) error {
	return fmt.Errorf("larger than %d MiB, too large for a CA bundle", limit>>20)
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

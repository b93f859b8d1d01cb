//go:build unix

package safefile_test

import (
	"errors"
	"testing"

	"github.com/rolecall/rolecall/pkg/safefile"
)

// TestReadFileEmptyDevice (issue 23, item 4): with EmptyDevice, /dev/null
// reads as an empty file, as the AWS CLI reads AWS_CONFIG_FILE=/dev/null;
// a device with bytes to give is still refused, and without EmptyDevice
// every device is.
func TestReadFileEmptyDevice(t *testing.T) {
	data, err := safefile.ReadFile("/dev/null", safefile.ReadOptions{MaxSize: 10, EmptyDevice: true})
	if err != nil || len(data) != 0 {
		t.Fatalf("/dev/null = %q, %v; want empty", data, err)
	}
	if _, err := safefile.ReadFile("/dev/zero", safefile.ReadOptions{MaxSize: 10, EmptyDevice: true}); !errors.Is(err, safefile.ErrNotRegular) {
		t.Errorf("/dev/zero: err = %v, want ErrNotRegular", err)
	}
	if _, err := safefile.ReadFile("/dev/null", safefile.ReadOptions{MaxSize: 10}); !errors.Is(err, safefile.ErrNotRegular) {
		t.Errorf("/dev/null without EmptyDevice: err = %v, want ErrNotRegular", err)
	}
}

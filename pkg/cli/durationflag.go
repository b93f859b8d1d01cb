package cli

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/spf13/pflag"
)

// durationFlag is a duration flag that takes what --duration takes: a Go
// duration (1h30m) or whole seconds (5400), so that every duration flag
// reads the same. A value that overflows is refused here (pflag's own
// duration flag wraps nothing, but seconds would); the range is each
// flag's own, checked where the request is.
type durationFlag struct{ d *time.Duration }

func newDurationFlag(d *time.Duration, def time.Duration) *durationFlag {
	*d = def
	return &durationFlag{d: d}
}

func (f *durationFlag) String() string {
	if f.d == nil {
		return "0s"
	}
	return f.d.String()
}

// Type keeps the help and the reference saying "duration".
func (f *durationFlag) Type() string { return "duration" }

func (f *durationFlag) Set(s string) error {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n > math.MaxInt64/int64(time.Second) || n < math.MinInt64/int64(time.Second) {
			return fmt.Errorf("%s seconds is out of range", s)
		}
		*f.d = time.Duration(n) * time.Second
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration: use a Go duration like 1h30m or a number of seconds", s)
	}
	*f.d = d
	return nil
}

var _ pflag.Value = (*durationFlag)(nil)

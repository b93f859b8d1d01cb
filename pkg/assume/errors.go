package assume

import (
	"errors"
	"fmt"
)

// UsageError is a command line that cannot be carried out as written: a
// flag value, a missing role, flags that contradict each other. The CLI
// exits with its usage code.
type UsageError struct {
	Err  error
	Hint string
}

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// ConfigError is a problem in the AWS config or credentials file, a profile
// in it, or the environment variables that stand in for them. The message
// names the file and line where there is one.
type ConfigError struct {
	Err  error
	Hint string
}

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

func usageErrorf(hint, format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...), Hint: hint}
}

func configError(err error, hint string) error {
	if err == nil {
		return nil
	}
	var ce *ConfigError
	if errors.As(err, &ce) {
		return err
	}
	return &ConfigError{Err: err, Hint: hint}
}

func configErrorf(hint, format string, args ...any) error {
	return &ConfigError{Err: fmt.Errorf(format, args...), Hint: hint}
}

// withHint gives an InputError (or any error) a hint as a UsageError.
func withHint(err error, hint string) error {
	if err == nil {
		return nil
	}
	return &UsageError{Err: err, Hint: hint}
}

package cache

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
)

// DefaultDir returns the cache directory when no --cache-dir is given:
// $ROLECALL_CACHE_DIR, else the user cache directory + "/rolecall".
//
// The user cache directory follows os.UserCacheDir, but reads the
// environment through getenv (nil means os.Getenv) so that callers and
// tests can give a fake environment; os.UserCacheDir itself only reads the
// process environment.
func DefaultDir(getenv func(string) string) (string, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	if dir := getenv("ROLECALL_CACHE_DIR"); dir != "" {
		return dir, nil
	}
	base, err := userCacheDir(runtime.GOOS, getenv)
	if err != nil {
		return "", err
	}
	return filepath.Join(base, "rolecall"), nil
}

// userCacheDir is os.UserCacheDir (Go 1.26, os/file.go) with the
// environment passed in.
func userCacheDir(goos string, getenv func(string) string) (string, error) {
	switch goos {
	case "windows":
		if dir := getenv("LocalAppData"); dir != "" {
			return dir, nil
		}
		return "", errors.New("no user cache directory: %LocalAppData% is not set")
	case "darwin", "ios":
		if home := getenv("HOME"); home != "" {
			return home + "/Library/Caches", nil
		}
		return "", errors.New("no user cache directory: $HOME is not set")
	case "plan9":
		if home := getenv("home"); home != "" {
			return home + "/lib/cache", nil
		}
		return "", errors.New("no user cache directory: $home is not set")
	}
	if dir := getenv("XDG_CACHE_HOME"); dir != "" {
		if !filepath.IsAbs(dir) {
			return "", errors.New("no user cache directory: $XDG_CACHE_HOME is a relative path")
		}
		return dir, nil
	}
	if home := getenv("HOME"); home != "" {
		return home + "/.cache", nil
	}
	return "", errors.New("no user cache directory: neither $XDG_CACHE_HOME nor $HOME is set")
}

// Package cli is rolecall's command tree. It parses flags, calls the library
// packages and is the only place that writes to stdout and stderr.
package cli

// Main runs rolecall and returns its exit code.
func Main() int { return 0 }

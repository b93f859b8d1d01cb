package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	_ "unsafe" // go:linkname, for the cache's test hook in the real binary

	"github.com/gofrs/flock"
	"github.com/rogpeppe/go-internal/testscript"
)

// The fault suite: what the scripts in testdata/script/fault_*.txtar cannot
// do, because it needs a process killed at an exact moment, a clock or an
// HTTP path bent in a way the emulator does not offer, or another user.
// Every test drives the real binary (this test binary re-executed as
// rolecall, see TestMain) against the STS emulator.

// cacheHookBeforeRename is pkg/cache's unexported testHookBeforeRename,
// which runs between writing a temporary entry file and renaming it over
// the entry. The cache's own tests set it in their helper processes; here
// the real binary sets it (see installFaultHooks) so that a test can kill
// rolecall in the middle of a cache write, which no timing can hit
// reliably.
//
//go:linkname cacheHookBeforeRename github.com/rolecall/rolecall/pkg/cache.testHookBeforeRename
var cacheHookBeforeRename func(tmpPath string)

// pauseBeforeRenameEnv, when set in rolecall's environment, names a file
// that rolecall writes the temporary entry's path to before it pauses
// between writing a cache entry and renaming it, until it is killed.
const pauseBeforeRenameEnv = "ROLECALL_TEST_PAUSE_BEFORE_CACHE_RENAME"

// installFaultHooks runs in the re-executed binary before cli.Main. It does
// nothing unless a test asked for a hook in the environment.
func installFaultHooks() {
	marker := os.Getenv(pauseBeforeRenameEnv)
	if marker == "" {
		return
	}
	cacheHookBeforeRename = func(tmpPath string) {
		if err := os.WriteFile(marker, []byte(tmpPath), 0o600); err != nil {
			panic(err)
		}
		// Wait to be killed; bounded, so that a test that forgot to kill
		// does not leave a process behind for ever.
		<-time.After(time.Minute)
	}
}

// cmdCacheOK asserts that a cache directory holds nothing a failed or
// killed rolecall may leave behind: no temporary file, no lock that
// someone holds, and only entries that are private files of complete JSON.
//
//	cacheok DIR
func cmdCacheOK(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: cacheok DIR")
	}
	if err := cacheProblems(ts.MkAbs(args[0])); err != nil {
		ts.Fatalf("%v", err)
	}
}

// cacheProblems is cacheok for Go tests: nil when dir is clean.
func cacheProblems(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var problems []string
	for _, de := range ents {
		name := de.Name()
		path := filepath.Join(dir, name)
		switch {
		case strings.HasSuffix(name, ".tmp"):
			problems = append(problems, "temporary file "+name+" left behind")
		case strings.HasSuffix(name, ".lock"):
			fl := flock.New(path)
			ok, err := fl.TryLock()
			if err != nil {
				problems = append(problems, fmt.Sprintf("lock %s: %v", name, err))
			} else if !ok {
				problems = append(problems, "lock "+name+" is held")
			} else {
				_ = fl.Unlock()
			}
		case strings.HasSuffix(name, ".json"):
			fi, err := os.Stat(path)
			if err != nil {
				problems = append(problems, err.Error())
				continue
			}
			if fi.Mode().Perm() != 0o600 {
				problems = append(problems, fmt.Sprintf("entry %s has mode %#o", name, fi.Mode().Perm()))
			}
			data, err := os.ReadFile(path) //nolint:gosec // a test's own cache directory
			var e struct {
				Version int `json:"version"`
			}
			if err == nil {
				err = json.Unmarshal(data, &e)
			}
			if err != nil || e.Version != 1 {
				problems = append(problems, fmt.Sprintf("entry %s is not a complete entry (%v)", name, err))
			}
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("cache %s: %s", dir, strings.Join(problems, "; "))
	}
	return nil
}

// cmdBigFile writes LINE and a newline over and over until the file holds
// at least SIZE bytes (a number with an optional K, M or G suffix):
//
//	bigfile PATH SIZE LINE
func cmdBigFile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: bigfile PATH SIZE LINE")
	}
	size, err := parseSize(args[1])
	ts.Check(err)
	ts.Check(writeBigFile(ts.MkAbs(args[0]), size, args[2]+"\n"))
}

func parseSize(s string) (int64, error) {
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "K"):
		mult, s = 1<<10, strings.TrimSuffix(s, "K")
	case strings.HasSuffix(s, "M"):
		mult, s = 1<<20, strings.TrimSuffix(s, "M")
	case strings.HasSuffix(s, "G"):
		mult, s = 1<<30, strings.TrimSuffix(s, "G")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n * mult, err
}

func writeBigFile(path string, size int64, line string) error {
	f, err := os.Create(path) //nolint:gosec // a test's own file
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for n := int64(0); n < size; n += int64(len(line)) {
		if _, err := w.WriteString(line); err != nil {
			_ = f.Close()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

//go:build unix

package console

import (
	"context"
	"errors"
	"html"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// testLink is a link whose token the tests look for.
const testLink = "https://signin.aws.amazon.com/federation?Action=login&Destination=https%3A%2F%2Fconsole.aws.amazon.com%2F&Issuer=&SigninToken=TOKEN-must-not-leak"

// recorder writes a BROWSER script that records its arguments, one a line,
// into record, and exits with code.
func recorder(t *testing.T, dir, name, code string) (script, record string) {
	t.Helper()
	script, record = filepath.Join(dir, name), filepath.Join(dir, name+".args")
	content := "#!/bin/sh\nprintf '%s\\n' \"$@\" > '" + record + "'\nexit " + code + "\n"
	if err := os.WriteFile(script, []byte(content), 0o700); err != nil {
		t.Fatal(err)
	}
	return script, record
}

func fileURL(path string) string { return (&url.URL{Scheme: "file", Path: path}).String() }

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// TestBrowserGetsAPageNotTheLink: the browser's command line holds the
// path of a private page, never the link; the page redirects to the link.
func TestBrowserGetsAPageNotTheLink(t *testing.T) {
	dir := t.TempDir()
	script, record := recorder(t, dir, "browser", "0")
	failing, failingRecord := recorder(t, dir, "failing", "3")
	tests := []struct {
		name     string
		browser  string
		wantArgs func(page string) []string
	}{
		{"BROWSER with the URL appended", script, func(p string) []string { return []string{fileURL(p)} }},
		{"BROWSER with a placeholder", script + " --new-window %s --private", func(p string) []string { return []string{"--new-window", fileURL(p), "--private"} }},
		{"a failing BROWSER, then the next", failing + ":" + script, func(p string) []string { return []string{fileURL(p)} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmp := t.TempDir()
			b := Browser{Getenv: env(map[string]string{"BROWSER": tt.browser}), TempDir: tmp}
			opened, err := b.Open(context.Background(), Link{URL: testLink})
			if err != nil {
				t.Fatal(err)
			}
			if opened.Command != script {
				t.Errorf("started %s, want %s", opened.Command, script)
			}
			args, err := os.ReadFile(record)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(args), "TOKEN") || strings.Contains(string(args), "SigninToken") {
				t.Fatalf("the browser's command line holds the link: %q", args)
			}
			if got := strings.Split(strings.TrimSuffix(string(args), "\n"), "\n"); !reflect.DeepEqual(got, tt.wantArgs(opened.Page)) {
				t.Errorf("browser arguments %q, want %q", got, tt.wantArgs(opened.Page))
			}
			checkPage(t, opened.Page, tmp)
		})
	}
	if _, err := os.Stat(failingRecord); err != nil {
		t.Error("the failing BROWSER command was never tried")
	}
}

// checkPage: the page is 0600 in a 0700 directory of its own under tmp,
// and redirects to the link.
func checkPage(t *testing.T, page, tmp string) {
	t.Helper()
	if filepath.Dir(filepath.Dir(page)) != tmp || !strings.HasPrefix(filepath.Base(filepath.Dir(page)), pagePrefix) {
		t.Errorf("page %s is not in a directory of its own under %s", page, tmp)
	}
	for path, want := range map[string]os.FileMode{page: 0o600, filepath.Dir(page): 0o700} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s has mode %v, want %v", path, fi.Mode().Perm(), want)
		}
	}
	content, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	escaped := html.EscapeString(testLink)
	if !strings.Contains(string(content), `content="0;url=`+escaped+`"`) || !strings.Contains(string(content), `href="`+escaped+`"`) {
		t.Errorf("the page does not redirect to the link:\n%s", content)
	}
	if !strings.Contains(string(content), `name="referrer" content="no-referrer"`) {
		t.Error("the page does not withhold its referrer")
	}
}

// TestNoBrowser: with nothing to start, Open says so and leaves no page.
func TestNoBrowser(t *testing.T) {
	tests := []struct {
		name string
		vars map[string]string
	}{
		{"no display and no BROWSER", map[string]string{}},
		{"BROWSER names no program", map[string]string{"BROWSER": "/nonexistent/browser"}},
		{"BROWSER fails", map[string]string{"BROWSER": "false"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmp := t.TempDir()
			_, err := Browser{Getenv: env(tt.vars), GOOS: "linux", TempDir: tmp}.Open(context.Background(), Link{URL: testLink})
			if !errors.Is(err, ErrNoBrowser) {
				t.Fatalf("error %v, want ErrNoBrowser", err)
			}
			if strings.Contains(err.Error(), "TOKEN") {
				t.Errorf("the error holds the link: %v", err)
			}
			if left, _ := filepath.Glob(filepath.Join(tmp, pagePrefix+"*")); len(left) != 0 {
				t.Errorf("pages left behind: %q", left)
			}
		})
	}
}

// TestStalePagesAreRemoved: a page whose link has expired goes at the next
// Open; a page still in use stays.
func TestStalePagesAreRemoved(t *testing.T) {
	tmp := t.TempDir()
	script, _ := recorder(t, t.TempDir(), "browser", "0")
	old, fresh := filepath.Join(tmp, pagePrefix+"old"), filepath.Join(tmp, pagePrefix+"fresh")
	unrelated := filepath.Join(tmp, "something-else")
	for _, d := range []string{old, fresh, unrelated} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	for _, d := range []string{old, unrelated} {
		if err := os.Chtimes(d, now.Add(-time.Hour), now.Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := (Browser{Getenv: env(map[string]string{"BROWSER": script}), TempDir: tmp, Now: func() time.Time { return now }}).Open(context.Background(), Link{URL: testLink}); err != nil {
		t.Fatal(err)
	}
	for d, want := range map[string]bool{old: false, fresh: true, unrelated: true} {
		if _, err := os.Stat(d); (err == nil) != want {
			t.Errorf("%s exists: %v, want %v", filepath.Base(d), err == nil, want)
		}
	}
}

// TestStalePagesByTheInjectedClock: a page directory goes once it is
// exactly SigninTokenLifetime old by Browser.Now, not by the machine's
// clock; one a second younger stays.
func TestStalePagesByTheInjectedClock(t *testing.T) {
	tmp := t.TempDir()
	script, _ := recorder(t, t.TempDir(), "browser", "0")
	// Long ago, so that the machine's clock would call both stale.
	made := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	expired, live := filepath.Join(tmp, pagePrefix+"expired"), filepath.Join(tmp, pagePrefix+"live")
	for d, mtime := range map[string]time.Time{expired: made, live: made.Add(time.Second)} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(d, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	now := func() time.Time { return made.Add(SigninTokenLifetime) }
	if _, err := (Browser{Getenv: env(map[string]string{"BROWSER": script}), TempDir: tmp, Now: now}).Open(context.Background(), Link{URL: testLink}); err != nil {
		t.Fatal(err)
	}
	for d, want := range map[string]bool{expired: false, live: true} {
		if _, err := os.Stat(d); (err == nil) != want {
			t.Errorf("%s exists: %v, want %v", filepath.Base(d), err == nil, want)
		}
	}
}

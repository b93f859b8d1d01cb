package browser

import (
	"reflect"
	"testing"
)

// TestPlatformLaunchers: the command each platform's default browser is
// started with, given a page's URL and path.
func TestPlatformLaunchers(t *testing.T) {
	tests := []struct {
		goos string
		vars map[string]string
		want []string
	}{
		{"darwin", nil, []string{"open", "/tmp/p/signin.html"}},
		{"windows", nil, []string{"rundll32", "url.dll,FileProtocolHandler", "/tmp/p/signin.html"}},
		{"linux", map[string]string{"DISPLAY": ":0"}, []string{"xdg-open", "file:///tmp/p/signin.html"}},
		{"freebsd", map[string]string{"WAYLAND_DISPLAY": "wayland-0"}, []string{"xdg-open", "file:///tmp/p/signin.html"}},
		{"windows", map[string]string{"BROWSER": "a;b %s"}, []string{"a", "file:///tmp/p/signin.html"}},
		{"linux", map[string]string{"BROWSER": "firefox --new-tab %s:chromium"}, []string{"firefox", "--new-tab", "file:///tmp/p/signin.html"}},
	}
	for _, tt := range tests {
		getenv := func(k string) string { return tt.vars[k] }
		cmds, err := Launcher{Getenv: getenv, GOOS: tt.goos}.commands()
		if err != nil {
			t.Fatalf("%s: %v", tt.goos, err)
		}
		if got := expand(cmds[0], "file:///tmp/p/signin.html", "/tmp/p/signin.html"); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s %v: %q, want %q", tt.goos, tt.vars, got, tt.want)
		}
	}
}

// TestNoDisplayNoBrowser: with no BROWSER and no display, Open says so
// instead of starting xdg-open to fail.
func TestNoDisplayNoBrowser(t *testing.T) {
	_, err := Launcher{Getenv: func(string) string { return "" }, GOOS: "linux"}.Open(t.Context(), "https://example.invalid/", "")
	if err == nil {
		t.Fatal("Open found a browser with no BROWSER and no display")
	}
}

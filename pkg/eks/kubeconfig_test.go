package eks

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var testUser = User{Name: "rolecall-prod", Command: "rolecall", Args: []string{"eks", "token", "--cluster", "prod", "deploy"}}

func TestMergeUser(t *testing.T) {
	for _, tt := range []struct {
		name, old, want string
	}{
		{"empty file", "", "apiVersion: v1\nkind: Config\nusers:\n  - name: rolecall-prod\n"},
		{"users null", "apiVersion: v1\nkind: Config\nusers: null\n", "users:\n  - name: rolecall-prod\n"},
		{"appended after others", "apiVersion: v1\nusers:\n- name: alice\n  user: {token: t}\n", "  - name: alice\n    user: {token: t}\n  - name: rolecall-prod\n"},
		{"replaced in place", "users:\n- name: rolecall-prod\n  user: {token: old}\n- name: zed\n  user: {}\n", "users:\n  - name: rolecall-prod\n    user:\n      exec:\n"},
		{"comments kept", "# mine\napiVersion: v1 # v1\nusers: []\n", "# mine\napiVersion: v1 # v1\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := mergeUser([]byte(tt.old), testUser)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(got), tt.want) {
				t.Errorf("merged:\n%s\nwant it to contain:\n%s", got, tt.want)
			}
			for _, want := range []string{"interactiveMode: IfAvailable", "provideClusterInfo: false", "apiVersion: client.authentication.k8s.io/v1beta1", "command: rolecall"} {
				if !strings.Contains(string(got), want) {
					t.Errorf("merged entry lacks %q", want)
				}
			}
			if strings.Count(string(got), "name: rolecall-prod") != 1 {
				t.Errorf("the entry appears %d times", strings.Count(string(got), "name: rolecall-prod"))
			}
			if strings.Contains(tt.old, "token: old") && strings.Contains(string(got), "token: old") {
				t.Error("the old entry was kept")
			}
		})
	}
	for _, bad := range []string{"- a list\n", "users: {a: b}\n", "users: [\n", "just text\n"} {
		if _, err := mergeUser([]byte(bad), testUser); err == nil {
			t.Errorf("mergeUser(%q) accepted it", bad)
		}
	}
}

func TestKubeconfigPath(t *testing.T) {
	dir := t.TempDir()
	exists := filepath.Join(dir, "exists")
	if err := os.WriteFile(exists, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	sep := string(os.PathListSeparator)
	for _, tt := range []struct{ env, want string }{
		{"", filepath.Join("/home/me", ".kube", "config")},
		{a + sep + exists + sep + b, exists},
		{a + sep + b, b},
		{sep + a + sep, a},
	} {
		if got := KubeconfigPath(tt.env, "/home/me"); got != tt.want {
			t.Errorf("KubeconfigPath(%q) = %q, want %q", tt.env, got, tt.want)
		}
	}
}

// TestWriteUserConcurrent: writers of different entries never lose each
// other's, and never find kubectl's lock held by one another.
func TestWriteUserConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config")
	done := make(chan error)
	for i := range 8 {
		go func() {
			u := testUser
			u.Name = "user-" + string(rune('a'+i))
			// rolecall's writers queue on their flock before they
			// take kubectl's lock: none of them sees it taken.
			done <- WriteUser(context.Background(), path, u, time.Minute)
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 8 {
		if !strings.Contains(string(data), "name: user-"+string(rune('a'+i))) {
			t.Errorf("user-%c was lost", 'a'+i)
		}
	}
}

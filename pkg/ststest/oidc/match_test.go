package oidc

import "testing"

func TestMatchLike(t *testing.T) {
	tests := []struct {
		name    string
		pattern string
		value   string
		want    bool
	}{
		{"repo wildcard, branch", "repo:org/repo:*", "repo:org/repo:ref:refs/heads/main", true},
		{"repo wildcard, pull request", "repo:org/repo:*", "repo:org/repo:pull_request", true},
		{"repo wildcard, other repo", "repo:org/repo:*", "repo:org/repo2:ref:refs/heads/main", false},
		{"star matches nothing", "repo:org/repo:*", "repo:org/repo:", true},
		{"star crosses slashes", "repo:org/*:ref:refs/heads/main", "repo:org/a/b:ref:refs/heads/main", true},
		{"star in the middle", "repo:org/*:ref:refs/heads/main", "repo:org/repo:ref:refs/heads/dev", false},
		{"several stars with backtracking", "*a*b*c", "xxaxxbxxbxxc", true},
		{"several stars, missing last part", "*a*b*c", "xxaxxbxx", false},
		{"only a star", "*", "anything at all", true},
		{"question mark is one character", "refs/heads/v?", "refs/heads/v1", true},
		{"question mark is not zero characters", "refs/heads/v?", "refs/heads/v", false},
		{"question mark is not two characters", "refs/heads/v?", "refs/heads/v10", false},
		{"question mark is one rune", "ref:?", "ref:é", true},
		{"literal pattern matches itself", "repo:org/repo:ref:refs/heads/main", "repo:org/repo:ref:refs/heads/main", true},
		{"literal pattern, longer value", "repo:org/repo:ref:refs/heads/main", "repo:org/repo:ref:refs/heads/main2", false},
		{"literal pattern, shorter value", "repo:org/repo:ref:refs/heads/main", "repo:org/repo:ref:refs/heads/mai", false},
		{"case-sensitive", "repo:Org/Repo:*", "repo:org/repo:ref:refs/heads/main", false},
		{"brackets are literal", "repo:org/[abc]", "repo:org/[abc]", true},
		{"brackets are not a class", "repo:org/[abc]", "repo:org/a", false},
		{"backslash is literal, not an escape", `a\*`, `a\bc`, true},
		{"empty pattern, empty value", "", "", true},
		{"empty pattern, some value", "", "x", false},
		{"pattern, empty value", "repo:*", "", false},
		{"star, empty value", "*", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MatchLike(tt.pattern, tt.value); got != tt.want {
				t.Errorf("MatchLike(%q, %q) = %v, want %v", tt.pattern, tt.value, got, tt.want)
			}
		})
	}
}

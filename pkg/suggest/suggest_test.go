package suggest

import "testing"

// TestEditDistance is Levenshtein's distance, in runes.
func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"", "abc", 3}, {"abc", "", 3}, {"abc", "abc", 0},
		{"kitten", "sitting", 3}, {"flaw", "lawn", 2}, {"deploy", "dpeloy", 2},
		{"ab", "ba", 2}, {"a", "b", 1}, {"añb", "anb", 1}, {"prod", "production", 6},
	}
	for _, tt := range tests {
		if got := EditDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("EditDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

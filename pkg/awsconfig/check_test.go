package awsconfig

import "testing"

// TestINIMatches: the second opinion before a write says yes where
// gopkg.in/ini.v1 reads a file into exactly the sections, keys and values
// our parser does, and no where it reads it otherwise or cannot judge.
func TestINIMatches(t *testing.T) {
	tests := []struct {
		name string
		data string
		want bool
	}{
		{"plain sections", "[a]\nk = v\n\n[b]\nx = 1\ny = 2\n", true},
		{"no sections at all", "", true},
		{"a repeated section (our parser's issue)", "[a]\nk = v\n[a]\nk = w\n", false},
		{"a line that ends in a lone CR", "[a]\rk = v\r", false},
		{"a value continued on an indented line", "[a]\nk = first\n  second\n", false},
		{"[DEFAULT], which ini.v1 does not keep as a section", "[DEFAULT]\nk = v\n[a]\nx = 1\n", false},
		{"a value ini.v1 reads with its backticks removed", "[a]\nk = `v`\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := parseDocument("config", []byte(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			if got := iniMatches([]byte(tt.data), doc); got != tt.want {
				t.Errorf("iniMatches = %v, want %v", got, tt.want)
			}
		})
	}
	// The same document against other bytes: ini.v1 reads another file.
	doc, err := parseDocument("config", []byte("[a]\nk = v\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, other := range []string{"[a]\nk = w\n", "[a]\nk = v\n[b]\n", "[b]\nk = v\n", "[a]\nk = v\nj = u\n", "[a]\nj = v\n"} {
		if iniMatches([]byte(other), doc) {
			t.Errorf("iniMatches(%q) against [a] k = v: true", other)
		}
	}
}

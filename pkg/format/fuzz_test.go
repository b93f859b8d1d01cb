package format

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"
)

// The fuzz targets exec a real shell per input: slow, but the shell is the
// only judge of its own quoting. Their seed corpus (testdata/fuzz, written
// from hazards by -update) runs with every go test.

// checkRejected asserts the only reasons a shell format may refuse a value:
// an empty secret (no credentials at all), a NUL or invalid UTF-8.
func checkRejected(t *testing.T, f Format, s string, err error) (rejected bool) {
	t.Helper()
	switch {
	case s == "":
		if !errors.Is(err, errMissingKeys) {
			t.Fatalf("empty secret: Render = %v, want errMissingKeys", err)
		}
		return true
	case strings.IndexByte(s, 0) >= 0 || !utf8.ValidString(s):
		if !isUnrepresentable(err, f) {
			t.Fatalf("NUL or invalid UTF-8: Render = %v, want an UnrepresentableError", err)
		}
		return true
	case err != nil:
		t.Fatalf("Render refused a value it must carry: %v", err)
	}
	return false
}

func fuzzShell(f *testing.F, sh shell) {
	requireProgram(f, sh.program)
	f.Fuzz(func(t *testing.T, s string) {
		c := testCreds()
		c.SecretAccessKey = s
		var out bytes.Buffer
		err := Render(&out, sh.format, c, Options{})
		if checkRejected(t, sh.format, s, err) {
			if out.Len() != 0 {
				t.Fatalf("Render wrote %d bytes before failing", out.Len())
			}
			return
		}
		got := evalInShell(t, sh, out.Bytes())
		if err := sameValue(s, got[envSecretAccessKey]); err != nil {
			t.Fatalf("%s: AWS_SECRET_ACCESS_KEY %v", sh.program, err)
		}
	})
}

// FuzzPOSIXQuoting: whatever the env format renders, bash evaluates back to
// the same bytes; and a QuotePOSIX word reaches a program as one argument,
// unchanged.
func FuzzPOSIXQuoting(f *testing.F) {
	bash := requireProgram(f, "bash")
	f.Fuzz(func(t *testing.T, s string) {
		c := testCreds()
		c.SecretAccessKey = s
		var out bytes.Buffer
		err := Render(&out, Env, c, Options{})
		if checkRejected(t, Env, s, err) {
			return
		}
		got := evalInShell(t, shells[0], out.Bytes())
		if err := sameValue(s, got[envSecretAccessKey]); err != nil {
			t.Fatalf("bash: AWS_SECRET_ACCESS_KEY %v", err)
		}

		dir := t.TempDir()
		word := filepath.Join(dir, "word")
		cmd := exec.CommandContext(t.Context(), bash, "--norc", "--noprofile", "-c", `printf '%s\0' "$#" `+QuotePOSIX(s)+` > "$0"`, word)
		cmd.Env = hermeticEnv(t)
		if b, err := cmd.CombinedOutput(); err != nil || len(b) > 0 {
			t.Fatalf("bash with a QuotePOSIX word: %v\n%s", err, b)
		}
		b, err := os.ReadFile(word)
		if err != nil {
			t.Fatal(err)
		}
		if err := sameValue("0\x00"+s+"\x00", string(b)); err != nil {
			t.Fatalf("QuotePOSIX word %v", err)
		}
	})
}

// FuzzFishQuoting: whatever the fish format renders, fish sources back to
// the same bytes.
func FuzzFishQuoting(f *testing.F) { fuzzShell(f, fishShell) }

// FuzzPowerShellQuoting checks both PowerShell quotings against a reference
// parser of PowerShell's grammar (no PowerShell on this machine):
// QuotePowerShell's single-quoted string and the powershell format's ASCII
// expression each parse back to the value, and the format's output parses
// back to EnvVars, one statement per line.
func FuzzPowerShellQuoting(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		if utf8.ValidString(s) {
			lit := QuotePowerShell(s)
			got, rest, err := psParseSingleQuoted(lit)
			if err != nil || rest != "" {
				t.Fatalf("QuotePowerShell output does not parse as one string: %v (rest %d bytes)", err, len(rest))
			}
			if err := sameValue(s, got); err != nil {
				t.Fatalf("QuotePowerShell %v", err)
			}

			expr := powerShellExpression(s)
			for i := 0; i < len(expr); i++ {
				if expr[i] < 0x20 || expr[i] > 0x7e {
					t.Fatalf("expression has byte %#x at %d, want printable ASCII only", expr[i], i)
				}
			}
			got, err = psParseExpression(expr)
			if err != nil {
				t.Fatalf("expression does not parse: %v", err)
			}
			if err := sameValue(s, got); err != nil {
				t.Fatalf("expression %v", err)
			}
		}

		c := testCreds()
		c.SecretAccessKey = s
		var out bytes.Buffer
		err := Render(&out, PowerShell, c, Options{Region: "eu-west-1"})
		if checkRejected(t, PowerShell, s, err) {
			return
		}
		vars, err := psParseAssignments(out.String())
		if err != nil {
			t.Fatalf("rendered output does not parse: %v", err)
		}
		want := EnvVars(c, Options{Region: "eu-west-1"})
		if len(vars) != len(want) {
			t.Fatalf("parsed %d assignments, want %d", len(vars), len(want))
		}
		for i := range want {
			if vars[i].Name != want[i].Name {
				t.Fatalf("assignment %d sets %s, want %s", i, vars[i].Name, want[i].Name)
			}
			if err := sameValue(want[i].Value, vars[i].Value); err != nil {
				t.Fatalf("%s %v", want[i].Name, err)
			}
		}
	})
}

// isPSQuote is PowerShell's CharExtensions.IsSingleQuote (CharTraits.cs).
func isPSQuote(r rune) bool { return strings.ContainsRune("'\u2018\u2019\u201a\u201b", r) }

// psParseSingleQuoted reads one single-quoted string from the start of s,
// following PowerShell's tokenizer (tokenizer.cs, ScanStringLiteral): any
// single-quote character opens the string; inside, a single-quote
// character followed by another one stands for the second; a lone one
// closes the string. It returns the value and the text after it.
func psParseSingleQuoted(s string) (value, rest string, err error) {
	rs := []rune(s)
	if len(rs) == 0 || !isPSQuote(rs[0]) {
		return "", "", errors.New("no opening quote")
	}
	var b strings.Builder
	for i := 1; i < len(rs); i++ {
		r := rs[i]
		if isPSQuote(r) {
			if i+1 < len(rs) && isPSQuote(rs[i+1]) {
				b.WriteRune(rs[i+1])
				i++
				continue
			}
			return b.String(), string(rs[i+1:]), nil
		}
		b.WriteRune(r)
	}
	return "", "", errors.New("unterminated string")
}

// psParseExpression parses the subset of PowerShell the format emits:
// terms joined by " + ", each a single-quoted string or [char]0xXXXX,
// evaluated left to right as string concatenation of UTF-16 code units.
func psParseExpression(s string) (string, error) {
	var units []uint16
	first := true
	for {
		switch {
		case isPSQuoteStart(s):
			v, rest, err := psParseSingleQuoted(s)
			if err != nil {
				return "", err
			}
			units = append(units, utf16.Encode([]rune(v))...)
			s = rest
		case strings.HasPrefix(s, "[char]0x"):
			if first {
				return "", errors.New("expression starts with [char]: + would add numbers, not concatenate")
			}
			if len(s) < 12 {
				return "", errors.New("short [char] term")
			}
			n, err := strconv.ParseUint(s[8:12], 16, 16)
			if err != nil {
				return "", fmt.Errorf("[char] term: %w", err)
			}
			units = append(units, uint16(n))
			s = s[12:]
		default:
			return "", fmt.Errorf("unexpected term at %q", truncate(s))
		}
		first = false
		if s == "" {
			return string(utf16.Decode(units)), nil
		}
		var ok bool
		if s, ok = strings.CutPrefix(s, " + "); !ok {
			return "", fmt.Errorf("want ' + ' at %q", truncate(s))
		}
	}
}

func isPSQuoteStart(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return isPSQuote(r)
}

// psParseAssignments parses the format's output: one "$Env:NAME = EXPR"
// per line. Lines are split the way PowerShell splits native output piped
// to Invoke-Expression: at CR, LF or CRLF.
func psParseAssignments(out string) ([]Var, error) {
	if !strings.HasSuffix(out, "\n") {
		return nil, errors.New("output does not end with a newline")
	}
	var vars []Var
	for _, line := range strings.FieldsFunc(out, func(r rune) bool { return r == '\r' || r == '\n' }) {
		rest, ok := strings.CutPrefix(line, "$Env:")
		if !ok {
			return nil, fmt.Errorf("line does not start with $Env: %q", truncate(line))
		}
		name, expr, ok := strings.Cut(rest, " = ")
		if !ok {
			return nil, fmt.Errorf("no assignment in line for %s", name)
		}
		if expr == "$null" { // removes the variable: nothing to read back
			continue
		}
		v, err := psParseExpression(expr)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		vars = append(vars, Var{name, v})
	}
	return vars, nil
}

func truncate(s string) string {
	if len(s) > 20 {
		return s[:20] + "…"
	}
	return s
}

// fuzzTargets are the targets whose seed corpus is the hazards list.
var fuzzTargets = []string{"FuzzPOSIXQuoting", "FuzzFishQuoting", "FuzzPowerShellQuoting"}

// TestFuzzSeedCorpus keeps testdata/fuzz in step with hazards: every
// hazard is a seed of every target (-update writes them).
func TestFuzzSeedCorpus(t *testing.T) {
	for _, target := range fuzzTargets {
		for _, h := range hazards {
			path := filepath.Join("testdata", "fuzz", target, "hazard-"+h.name)
			want := "go test fuzz v1\nstring(" + strconv.Quote(h.value) + ")\n"
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(want), 0o600); err != nil {
					t.Fatal(err)
				}
				continue
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Errorf("%v (run go test ./pkg/format -update)", err)
				continue
			}
			if string(got) != want {
				t.Errorf("%s is stale (run go test ./pkg/format -update)", path)
			}
		}
	}
}

// TestPSReferenceParser pins the reference parser itself to PowerShell's
// documented behaviour, so the fuzz property means something.
func TestPSReferenceParser(t *testing.T) {
	tests := []struct {
		in, want, rest string
	}{
		{"'abc'", "abc", ""},
		{"'it''s'", "it's", ""},
		{"\u2019it\u2018\u2018s\u201b", "it\u2018s", ""},
		{"'a'\u2019b'", "a\u2019b", ""}, // a mixed pair still escapes: the second is kept
		{"'a' + 'b'", "a", " + 'b'"},
		{"''", "", ""},
	}
	for _, tt := range tests {
		got, rest, err := psParseSingleQuoted(tt.in)
		if err != nil || got != tt.want || rest != tt.rest {
			t.Errorf("psParseSingleQuoted(%q) = %q, %q, %v; want %q, %q", tt.in, got, rest, err, tt.want, tt.rest)
		}
	}
	for _, bad := range []string{"'abc", "abc", "'a''"} {
		if _, _, err := psParseSingleQuoted(bad); err == nil {
			t.Errorf("psParseSingleQuoted(%q) succeeded", bad)
		}
	}
	if _, err := psParseExpression("[char]0x0041 + 'a'"); err == nil {
		t.Error("psParseExpression accepted an expression starting with [char]")
	}
	if got, err := psParseExpression("'' + [char]0xD83D + [char]0xDD11 + 'x'"); err != nil || got != "\U0001F511x" {
		t.Errorf("psParseExpression surrogate pair = %q, %v", got, err)
	}
}

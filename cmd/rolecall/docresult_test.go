//go:build unix

package main

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// What a documented block states it does, checked against what it printed
// (TestDocCommands): a block that runs but prints something else than the
// page says fails as surely as one that exits non-zero.
//
//   - The identity a comment names (`# user/alice`, `# assumed-role/demo/…`)
//     must be printed, and several in the order the lines name them.
//   - A few phrases the pages use for an output state it too: "export
//     lines", "credential_process JSON" or "credential_process output",
//     "runs as the role", "demo and chained, each cached".
//   - A console block shows its output under each `$ ` command: every line
//     shown must be printed, in order (digits stand for any number: ports).
//   - No block prints "rolecall: error:": eval "$(rolecall …)" hides the
//     exit code of a failed rolecall from set -e, not its message.

// docStated is one stated result: a pattern the block's output must match.
type docStated struct {
	line    int // in the page
	claim   string
	pattern *regexp.Regexp
}

var (
	identityClaim = regexp.MustCompile(`\b(?:user|assumed-role)/[A-Za-z0-9+=,.@_-]+/?`)
	phraseClaims  = []struct {
		phrase  string
		pattern *regexp.Regexp
	}{
		{"export lines", regexp.MustCompile(`(?m)^export AWS_ACCESS_KEY_ID=`)},
		{"credential_process JSON", regexp.MustCompile(`"Version": 1,`)},
		{"credential_process output", regexp.MustCompile(`"Version": 1,`)},
		{"runs as the role", regexp.MustCompile(`ran as arn:aws:sts::\d{12}:assumed-role/`)},
		{"demo and chained, each cached", regexp.MustCompile(`(?ms)^\S*\bdemo\s.*^\S*\bchained\s|^\S*\bchained\s.*^\S*\bdemo\s`)},
	}
	digitRun = regexp.MustCompile(`[0-9]+`)
)

// statedResults reads the results a block states: its comments' claims,
// and for a console block the lines it shows.
func statedResults(b docBlock) []docStated {
	var stated []docStated
	for i, line := range strings.Split(b.text, "\n") {
		comment := shellComment(line)
		if comment == "" {
			continue
		}
		n := b.line + 1 + i
		if b.lang == "console" {
			n = b.line // console lines were rearranged: name the block
		}
		for _, id := range identityClaim.FindAllString(comment, -1) {
			stated = append(stated, docStated{line: n, claim: id, pattern: regexp.MustCompile(regexp.QuoteMeta(id))})
		}
		for _, pc := range phraseClaims {
			if strings.Contains(comment, pc.phrase) {
				stated = append(stated, docStated{line: n, claim: pc.phrase, pattern: pc.pattern})
			}
		}
	}
	for _, shown := range b.shows {
		p := digitRun.ReplaceAllString(regexp.QuoteMeta(shown), `[0-9]+`)
		stated = append(stated, docStated{line: b.line, claim: shown, pattern: regexp.MustCompile(`(?m)^` + p + `$`)})
	}
	return stated
}

// shellComment is the comment ending a command line: from a # that starts
// a word outside quotes.
func shellComment(line string) string {
	var quote rune
	prev := ' '
	for i, r := range line {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '\'' || r == '"':
			quote = r
		case r == '#' && (prev == ' ' || prev == '\t'):
			return strings.TrimSpace(line[i+1:])
		}
		prev = r
	}
	return ""
}

// checkStated reports the first stated result the output lacks, or that
// comes before the one stated on an earlier line, and any rolecall error.
func checkStated(output string, stated []docStated) error {
	if m := regexp.MustCompile(`(?m)^rolecall: error: .*$`).FindString(output); m != "" {
		return fmt.Errorf("rolecall printed an error the page does not show: %s", m)
	}
	rest := output
	for _, s := range stated {
		loc := s.pattern.FindStringIndex(rest)
		if loc == nil {
			if s.pattern.MatchString(output) {
				return fmt.Errorf("line %d states %q: printed, but before what an earlier line states", s.line, s.claim)
			}
			return fmt.Errorf("line %d states %q: not in the output", s.line, s.claim)
		}
		rest = rest[loc[1]:]
	}
	return nil
}

// consoleBlock splits a console block into the commands (the `$ ` lines
// and their continuation lines) and the output lines it shows.
func consoleBlock(body string) (commands string, shows []string) {
	var cmds strings.Builder
	continued := false
	for _, line := range strings.Split(strings.TrimRight(body, "\n"), "\n") {
		t := strings.TrimSpace(line)
		cmd, isCmd := strings.CutPrefix(t, "$ ")
		switch {
		case isCmd:
			cmds.WriteString(cmd + "\n")
		case continued:
			cmds.WriteString(t + "\n")
		case t != "":
			shows = append(shows, t)
		}
		continued = (isCmd || continued) && strings.HasSuffix(t, "\\")
	}
	return cmds.String(), shows
}

// TestDocStatedResults checks the stated results TestDocCommands compares.
func TestDocStatedResults(t *testing.T) {
	t.Parallel()
	b := docBlock{line: 10, lang: "sh", text: "rolecall whoami   # user/alice\n" +
		"echo '# not a comment'\n" +
		"(eval \"$(rolecall assume demo)\" && rolecall whoami)   # assumed-role/demo/…\n" +
		"rolecall assume demo   # export lines\n"}
	stated := statedResults(b)
	var claims []string
	for _, s := range stated {
		claims = append(claims, fmt.Sprintf("%d %s", s.line, s.claim))
	}
	if want := []string{"11 user/alice", "13 assumed-role/demo/", "14 export lines"}; !slices.Equal(claims, want) {
		t.Fatalf("claims %q, want %q", claims, want)
	}
	good := "ARN: arn:aws:iam::123456789012:user/alice\nARN: arn:aws:sts::123456789012:assumed-role/demo/x\nexport AWS_ACCESS_KEY_ID=ASIA\n"
	for _, tt := range []struct{ name, output, err string }{
		{"as stated", good, ""},
		{"missing", "ARN: arn:aws:iam::123456789012:user/alice\n", `line 13 states "assumed-role/demo/": not in the output`},
		{"out of order", "arn:aws:sts::123456789012:assumed-role/demo/x\narn:aws:iam::123456789012:user/alice\nexport AWS_ACCESS_KEY_ID=A\n", "before what an earlier line states"},
		{"a rolecall error", good + "rolecall: error: no such profile\n", "rolecall printed an error"},
	} {
		err := checkStated(tt.output, stated)
		if (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.err)
		}
	}

	cmds, shows := consoleBlock("$ ststest --listen 127.0.0.1:0 \\\n    --config c.json\nhttp://127.0.0.1:40713\n$ true\n")
	if cmds != "ststest --listen 127.0.0.1:0 \\\n--config c.json\ntrue\n" || !slices.Equal(shows, []string{"http://127.0.0.1:40713"}) {
		t.Fatalf("console block: commands %q, shows %q", cmds, shows)
	}
	console := statedResults(docBlock{line: 3, lang: "console", text: cmds, shows: shows})
	if err := checkStated("http://127.0.0.1:8080\n", console); err != nil {
		t.Errorf("another port: %v", err)
	}
	if err := checkStated("http://127.0.0.1:8080/x\n", console); err == nil {
		t.Error("a line with more than shown passed")
	}

	// The pages do state results: this is no check of nothing.
	pages, _ := filepath.Glob(filepath.Join("..", "..", "docs", "*.md"))
	n := 0
	for _, page := range append(pages, filepath.Join("..", "..", "README.md")) {
		blocks, err := docBlocks(page)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range blocks {
			if b.notest == "" {
				n += len(statedResults(b))
			}
		}
	}
	if n < 8 {
		t.Errorf("the pages state %d results the test compares; expected at least 8", n)
	}
	t.Logf("the pages state %d results", n)
}

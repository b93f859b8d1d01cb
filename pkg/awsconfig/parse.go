package awsconfig

// This file reads an AWS config or credentials file the way the AWS CLI
// does. botocore (botocore/configloader.py, raw_config_parse) hands the file
// to Python's configparser.RawConfigParser() with its defaults: strict mode
// (a duplicate section or a duplicate key is an error), "=" and ":" as
// delimiters, "#" and ";" only as whole-line comment prefixes (no inline
// comments: "region = x # note" has the value "x # note"), keys lowercased,
// section names kept as written, continuation lines by indentation, blank
// lines kept inside a value, and a [DEFAULT] section whose keys every other
// section inherits. Values that start with a newline (`s3 =` followed by
// indented lines) are then split into `key = value` pairs by
// _parse_nested, and a nested line without "=" fails the whole file.
//
// The scanner below follows CPython's configparser.RawConfigParser._read
// line for line (Lib/configparser.py) and keeps every line's position and
// raw bytes, which gopkg.in/ini.v1 cannot give: writes splice raw lines, and
// errors name the line to fix. See docs/config.md for why ini.v1 is used as
// an independent check rather than as the reader.

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// defaultSection is configparser's default_section: its keys are inherited
// by every other section of the same file, and it is no profile itself.
const defaultSection = "DEFAULT"

// rawLine is one physical line: its text without the line break, and the
// break itself ("\n", "\r\n", "\r", or "" for a last line without one).
// Python reads text files with universal newlines, so a lone "\r" ends a
// line too.
type rawLine struct {
	text string
	eol  string
}

// option is one key of a section as configparser stores it.
type option struct {
	name  string // lowercased, as configparser's optionxform does
	value string // continuation lines joined with "\n", trailing blank lines dropped
	first int    // index of the key line
	last  int    // index of its last continuation line (first when none)
}

// section is one [header] and the lines up to the next header.
type section struct {
	name   string // as written between the brackets (not trimmed)
	header int    // index of the header line
	end    int    // index one past its last line
	opts   []option
}

// lookup returns the section's last option called name.
func (s *section) lookup(name string) (option, bool) {
	for i := len(s.opts) - 1; i >= 0; i-- {
		if s.opts[i].name == name {
			return s.opts[i], true
		}
	}
	return option{}, false
}

// strictIssue is something configparser's strict mode refuses (a duplicate
// section or key) but that does not stop rolecall from splicing the file.
type strictIssue struct {
	line int // 1-based
	msg  string
}

// document is a parsed file.
type document struct {
	lines    []rawLine
	sections []*section
	issues   []strictIssue
	eol      string // the file's line break style, for new lines
	// defaults caches the [DEFAULT] keys every section inherits (nil until
	// first asked): looking them up once a section made loading quadratic.
	defaults map[string]located
}

// SyntaxError is a file the AWS CLI cannot parse. It never quotes the line:
// a malformed line may hold a secret key.
type SyntaxError struct {
	Path string
	Line int // 1-based; 0 when the problem is not one line
	Msg  string
}

// Error formats the file, the line and what to fix.
func (e *SyntaxError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s line %d: %s", e.Path, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.Path, e.Msg)
}

// pyIsSpace is Python's str.isspace for one character: Unicode white space
// plus the four information separators U+001C..U+001F, which Python also
// strips.
func pyIsSpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

func pyStrip(s string) string { return strings.TrimFunc(s, pyIsSpace) }

// indentOf counts leading white space in characters, as configparser's
// NONSPACECRE.search(line).start() does.
func indentOf(s string) int {
	n := 0
	for _, r := range s {
		if !pyIsSpace(r) {
			return n
		}
		n++
	}
	return 0 // a blank line never reaches the indentation check
}

// splitLines cuts data into lines with universal newlines.
func splitLines(data string) []rawLine {
	var lines []rawLine
	start := 0
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case '\n':
			lines = append(lines, rawLine{data[start:i], "\n"})
			start = i + 1
		case '\r':
			if i+1 < len(data) && data[i+1] == '\n' {
				lines = append(lines, rawLine{data[start:i], "\r\n"})
				i++
			} else {
				lines = append(lines, rawLine{data[start:i], "\r"})
			}
			start = i + 1
		}
	}
	if start < len(data) {
		lines = append(lines, rawLine{data[start:], ""})
	}
	return lines
}

// sectionHeader matches configparser's SECTCRE, `\[(?P<header>.+)\]`, on a
// stripped line: the name runs from the "[" to the last "]", with at least
// one character between them; anything after that "]" is ignored.
func sectionHeader(stripped string) (string, bool) {
	if !strings.HasPrefix(stripped, "[") {
		return "", false
	}
	j := strings.LastIndexByte(stripped, ']')
	if j < 2 {
		return "", false
	}
	return stripped[1:j], true
}

// splitOption matches configparser's OPTCRE,
// `(?P<option>.*?)\s*(?P<vi>=|:)\s*(?P<value>.*)$`, on a stripped line:
// the first "=" or ":" separates the key from the value.
func splitOption(stripped string) (key, value string, ok bool) {
	i := strings.IndexAny(stripped, "=:")
	if i < 0 {
		return "", "", false
	}
	return strings.TrimRightFunc(stripped[:i], pyIsSpace), pyStrip(stripped[i+1:]), true
}

// isComment reports a whole-line comment: "#" or ";" after stripping.
func isComment(stripped string) bool {
	return strings.HasPrefix(stripped, "#") || strings.HasPrefix(stripped, ";")
}

// parseDocument scans data the way RawConfigParser._read does. Problems the
// AWS CLI cannot get past (no section header before a key, a line that is
// neither a key, a header, a comment nor a continuation, an empty key, text
// that is not UTF-8, a byte order mark, a nested value without "=") are
// returned as a *SyntaxError for path; duplicates are only recorded in
// doc.issues, because a write can still splice such a file safely.
func parseDocument(path string, data []byte) (*document, error) {
	if !utf8.Valid(data) {
		return nil, &SyntaxError{Path: path, Line: invalidUTF8Line(data), Msg: "is not valid UTF-8; save the file as UTF-8"}
	}
	text := string(data)
	doc := &document{lines: splitLines(text), eol: "\n"}
	for _, l := range doc.lines {
		if l.eol != "" {
			doc.eol = l.eol
			break
		}
	}
	if strings.HasPrefix(text, "\ufeff") {
		// Python's utf-8 codec keeps the mark as a character that is not
		// white space, so the first header does not parse.
		return nil, &SyntaxError{Path: path, Line: 1, Msg: "starts with a byte order mark, which the AWS CLI cannot read; save the file as UTF-8 without BOM"}
	}

	var (
		cur       *section
		curOpt    = -1 // index into cur.opts of the key whose value may continue
		indent    = 0  // configparser's indent_level
		seenSect  = map[string]int{}
		seenOpt   = map[[2]string]int{}
		valueBits [][]string // per option of cur, its value lines
	)
	flush := func() {
		if cur == nil {
			return
		}
		for i := range cur.opts {
			cur.opts[i].value = strings.TrimRightFunc(strings.Join(valueBits[i], "\n"), pyIsSpace)
		}
	}
	for i, l := range doc.lines {
		stripped := pyStrip(l.text)
		comment := isComment(stripped)
		if stripped == "" || comment {
			// A blank line (not a comment) joins the value being read, so
			// a later indented line continues it after the gap.
			if !comment && cur != nil && curOpt >= 0 {
				valueBits[curOpt] = append(valueBits[curOpt], "")
			}
			continue
		}
		lineIndent := indentOf(l.text)
		if cur != nil && curOpt >= 0 && lineIndent > indent {
			valueBits[curOpt] = append(valueBits[curOpt], stripped)
			cur.opts[curOpt].last = i
			continue
		}
		indent = lineIndent
		if name, ok := sectionHeader(stripped); ok {
			flush()
			if cur != nil {
				cur.end = i
			}
			if first, dup := seenSect[name]; dup && name != defaultSection {
				doc.issues = append(doc.issues, strictIssue{i + 1, fmt.Sprintf("section [%s] appears again (first at line %d); the AWS CLI refuses a file with a repeated section: merge the two", name, first)})
			} else if !dup {
				seenSect[name] = i + 1
			}
			cur = &section{name: name, header: i}
			doc.sections = append(doc.sections, cur)
			valueBits = nil
			curOpt = -1
			continue
		}
		if cur == nil {
			return nil, &SyntaxError{Path: path, Line: i + 1, Msg: "has a line before the first [section] header; put it under a [profile NAME] section or remove it"}
		}
		key, value, ok := splitOption(stripped)
		if !ok {
			return nil, &SyntaxError{Path: path, Line: i + 1, Msg: `is not "key = value", a [section] header, a comment or an indented continuation; fix or remove the line (start comments with # or ;)`}
		}
		if key == "" {
			return nil, &SyntaxError{Path: path, Line: i + 1, Msg: `has a value with no key name before "=" or ":"; add the key name or remove the line`}
		}
		key = strings.ToLower(key)
		id := [2]string{cur.name, key}
		if first, dup := seenOpt[id]; dup {
			doc.issues = append(doc.issues, strictIssue{i + 1, fmt.Sprintf("key %s appears again in section [%s] (first at line %d); the AWS CLI refuses a repeated key: remove one", key, cur.name, first)})
		} else {
			seenOpt[id] = i + 1
		}
		cur.opts = append(cur.opts, option{name: key, first: i, last: i})
		valueBits = append(valueBits, []string{value})
		curOpt = len(cur.opts) - 1
	}
	flush()
	if cur != nil {
		cur.end = len(doc.lines)
	}
	if err := doc.checkNested(path); err != nil {
		return nil, err
	}
	return doc, nil
}

// checkNested applies botocore's _parse_nested to every value that starts
// with a line break: each non-blank line must be "key = value".
func (doc *document) checkNested(path string) error {
	for _, s := range doc.sections {
		for _, o := range s.opts {
			if _, err := parseNested(o.value); err != nil {
				return &SyntaxError{Path: path, Line: o.first + 1, Msg: fmt.Sprintf("the indented lines under %s must each be \"key = value\" (botocore reads them as nested settings)", o.name)}
			}
		}
	}
	return nil
}

// parseNested splits a nested value as botocore's _parse_nested does; ok is
// false for a value that is not nested (does not start with a line break).
func parseNested(value string) (map[string]string, error) {
	if !strings.HasPrefix(value, "\n") {
		return nil, nil
	}
	out := map[string]string{}
	for _, l := range strings.Split(value, "\n") {
		l = pyStrip(l)
		if l == "" {
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			return nil, fmt.Errorf("nested line without =")
		}
		out[pyStrip(k)] = pyStrip(v)
	}
	return out, nil
}

// invalidUTF8Line is the 1-based line of the first byte that is not UTF-8.
func invalidUTF8Line(data []byte) int {
	line := 1
	for len(data) > 0 {
		r, size := utf8.DecodeRune(data)
		if r == utf8.RuneError && size <= 1 {
			return line
		}
		if r == '\n' {
			line++
		}
		data = data[size:]
	}
	return line
}

// firstIssue is the earliest strict-mode problem, as an error for path.
func (doc *document) firstIssue(path string) error {
	if len(doc.issues) == 0 {
		return nil
	}
	is := doc.issues[0]
	return &SyntaxError{Path: path, Line: is.line, Msg: is.msg}
}

// effective returns a section's keys as configparser's get() sees them: the
// file's [DEFAULT] keys, overridden by the section's own. Each value keeps
// the line it came from.
func (doc *document) effective(s *section) map[string]located {
	if doc.defaults == nil {
		doc.defaults = map[string]located{}
		for _, d := range doc.sections {
			if d.name == defaultSection {
				for _, o := range d.opts {
					doc.defaults[o.name] = located{value: o.value, line: o.first + 1}
				}
			}
		}
	}
	out := make(map[string]located, len(doc.defaults)+len(s.opts))
	for k, v := range doc.defaults {
		out[k] = v
	}
	for _, o := range s.opts {
		out[o.name] = located{value: o.value, line: o.first + 1}
	}
	return out
}

// located is a value and the 1-based line it was read from.
type located struct {
	value string
	line  int
	file  string
}

// shlexSplit splits like Python's shlex.split(s) (POSIX mode, no comments),
// which botocore uses to read "[profile NAME]" headers, so `[profile "a b"]`
// names the profile "a b". ok is false where shlex raises ValueError
// (an unclosed quote or a trailing backslash).
func shlexSplit(s string) (parts []string, ok bool) {
	var (
		cur     strings.Builder
		inWord  bool
		quote   rune
		escaped bool
	)
	for _, r := range s {
		switch {
		case escaped:
			if quote == '"' && r != '"' && r != '\\' {
				cur.WriteRune('\\')
			}
			cur.WriteRune(r)
			escaped = false
		case quote == '\'':
			if r == '\'' {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case quote == '"':
			switch r {
			case '"':
				quote = 0
			case '\\':
				escaped = true
			default:
				cur.WriteRune(r)
			}
		case r == '\\':
			escaped, inWord = true, true
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t' || r == '\r' || r == '\n':
			if inWord {
				parts = append(parts, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if escaped || quote != 0 {
		return nil, false
	}
	if inWord {
		parts = append(parts, cur.String())
	}
	return parts, true
}

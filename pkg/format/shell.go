package format

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf16"
)

// QuotePOSIX quotes s as one word for a POSIX shell (sh, dash, bash, zsh),
// and for Python's shlex.split in POSIX mode, which botocore uses to split
// credential_process. Words made only of characters no shell treats
// specially come back as they are; everything else is single-quoted, each
// ' written as '\” (close, escaped quote, reopen).
//
// POSIX, Shell Command Language 2.2.2: "Enclosing characters in
// single-quotes shall preserve the literal value of each character within
// the single-quotes. A single-quote cannot occur within single-quotes."
// https://pubs.opengroup.org/onlinepubs/9699919799/utilities/V3_chap02.html#tag_18_02_02
//
// A NUL cannot be passed to a shell at all; callers that may see one
// validate first, as Render does.
func QuotePOSIX(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool { return !isPOSIXSafe(r) }) < 0 {
		return s
	}
	return singleQuotePOSIX(s)
}

// isPOSIXSafe reports whether r needs no quoting anywhere in a word. '=' is
// left out (a first word with '=' is an assignment), and so is '~' (tilde
// expansion at the start of a word).
func isPOSIXSafe(r rune) bool {
	return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' ||
		strings.ContainsRune("@%+:,./_-", r)
}

func singleQuotePOSIX(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// QuoteFish quotes s as one word for fish. fish's single quotes are not
// POSIX ones: a backslash escapes ' and \ inside them, and nothing else is
// special.
//
// fish documentation, "Quotes": "Single quotes have no special meaning
// within them, except for two escape sequences: \' and \\."
// https://fishshell.com/docs/current/language.html#quotes
func QuoteFish(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('\'')
	for _, r := range s {
		if r == '\'' || r == '\\' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteByte('\'')
	return b.String()
}

// powerShellQuotes are the characters PowerShell's tokenizer takes as a
// single quote: the ASCII one and four typographic ones. Inside a
// single-quoted string each is escaped by doubling it. PowerShell's
// CharTraits.cs (IsSingleQuote) lists them and
// CodeGeneration.EscapeSingleQuotedStringContent doubles each:
// https://github.com/PowerShell/PowerShell/blob/master/src/System.Management.Automation/engine/parser/CharTraits.cs
// (Ansible's PowerShell plugin, lib/ansible/plugins/shell/powershell.py
// _escape, does the same for the same reason.)
const powerShellQuotes = "'\u2018\u2019\u201a\u201b"

// QuotePowerShell quotes s as a PowerShell single-quoted string, doubling
// every character PowerShell treats as a single quote (see
// powerShellQuotes). The result is exact only where the text reaches
// PowerShell without a code page conversion (a UTF-8 script with BOM, a
// -Command argument). The powershell output format does not use it: its
// text passes through PowerShell's decoding of native output (see
// powerShellExpression).
func QuotePowerShell(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('\'')
	for _, r := range s {
		if strings.ContainsRune(powerShellQuotes, r) {
			b.WriteRune(r)
		}
		b.WriteRune(r)
	}
	b.WriteByte('\'')
	return b.String()
}

// powerShellExpression writes s as a PowerShell expression in pure ASCII:
// runs of printable ASCII as single-quoted strings (' doubled), every other
// character as [char]0xXXXX per UTF-16 code unit, joined with +, e.g.
// 'caf' + [char]0x00E9. The expression always starts with a string so +
// concatenates.
//
// Why not a plain single-quoted string: `rolecall … | Invoke-Expression`
// hands PowerShell our bytes through its decoding of native program output,
// which uses [Console]::OutputEncoding (about_Character_Encoding:
// https://learn.microsoft.com/powershell/module/microsoft.powershell.core/about/about_character_encoding),
// often an OEM or ANSI code page rather than UTF-8. There UTF-8 bytes turn
// into other characters, and Windows-1252 decodes bytes 0x91 and 0x92 (UTF-8
// continuation bytes) as U+2018 and U+2019, which end a single-quoted
// string. ASCII reads the same in every one of those code pages, so the
// value cannot break out and comes back exactly. Line breaks become
// [char]0x000A too, which keeps each statement on one line: PowerShell
// pipes native output to Invoke-Expression line by line.
func powerShellExpression(s string) string {
	var parts []string
	var lit strings.Builder
	inLit := false
	flush := func() {
		if inLit {
			parts = append(parts, "'"+lit.String()+"'")
			lit.Reset()
			inLit = false
		}
	}
	for _, r := range s {
		if r >= 0x20 && r <= 0x7e {
			inLit = true
			if r == '\'' {
				lit.WriteByte('\'')
			}
			lit.WriteRune(r)
			continue
		}
		flush()
		if len(parts) == 0 {
			parts = append(parts, "''")
		}
		for _, u := range utf16.Encode([]rune{r}) {
			parts = append(parts, fmt.Sprintf("[char]0x%04X", u))
		}
	}
	flush()
	if len(parts) == 0 {
		return "''"
	}
	return strings.Join(parts, " + ")
}

// renderEnv writes POSIX export lines for sh, dash, bash and zsh. Values are
// always single-quoted: inside single quotes none of $ ` \ ! * ? [ ~ # ; & |
// or a line break has a meaning, so every byte except NUL comes back as is.
func renderEnv(vars []Var, unset []string) ([]byte, error) {
	return renderShell(Env, vars, unset, "unset %s\n", func(name, value string) string {
		return "export " + name + "=" + singleQuotePOSIX(value) + "\n"
	})
}

// renderFish writes set -gx lines for fish (`… | source`). fish's set
// leaves $status as it was, and set -e of a variable that is not set makes
// it 4: without the `or true`, `… | source; and cmd` would skip cmd.
func renderFish(vars []Var, unset []string) ([]byte, error) {
	return renderShell(Fish, vars, unset, "set -e %s; or true\n", func(name, value string) string {
		return "set -gx " + name + " " + QuoteFish(value) + "\n"
	})
}

// renderPowerShell writes $Env: assignments, one statement per line, in
// pure ASCII (see powerShellExpression).
func renderPowerShell(vars []Var, unset []string) ([]byte, error) {
	return renderShell(PowerShell, vars, unset, "$Env:%s = $null\n", func(name, value string) string {
		return "$Env:" + name + " = " + powerShellExpression(value) + "\n"
	})
}

// renderShell is the shape the shell formats share: unset the variables
// that must not survive next to these (unsetFormat takes the name), then
// assign each variable.
func renderShell(f Format, vars []Var, unset []string, unsetFormat string, assign func(name, value string) string) ([]byte, error) {
	if err := checkVars(f, vars, nil); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	for _, name := range unset {
		fmt.Fprintf(&b, unsetFormat, name)
	}
	for _, v := range vars {
		b.WriteString(assign(v.Name, v.Value))
	}
	return b.Bytes(), nil
}

// renderCmd writes `set "NAME=value"` lines for cmd.exe. The quoted form
// keeps & | < > ^ ( ) literal, but nothing in cmd escapes these, so values
// holding them are refused:
//   - % expands variables in every context, quotes or not (in a batch file,
//     and on the command line for defined names);
//   - ! expands variables when delayed expansion is on;
//   - " ends the quoted form;
//   - a line break ends the command;
//   - anything outside printable ASCII: for /f decodes our output with the
//     console's OEM code page, so it would not come back as written.
//
// cmd's parsing phases: https://stackoverflow.com/questions/4094699 (the
// accepted answer is the reference most cmd quoting tools cite).
func renderCmd(vars []Var, unset []string) ([]byte, error) {
	err := checkVars(Cmd, vars, func(name, value string) error {
		for _, r := range value {
			switch {
			case r == '%' || r == '!' || r == '"':
				return &UnrepresentableError{Cmd, name, fmt.Sprintf("contains %q, which cmd expands or ends a quote with", r)}
			case r == '\r' || r == '\n':
				return &UnrepresentableError{Cmd, name, "contains a line break"}
			case r < 0x20 || r > 0x7e:
				return &UnrepresentableError{Cmd, name, "contains a character outside printable ASCII, which the console code page may change"}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	for _, name := range unset {
		fmt.Fprintf(&b, "set \"%s=\"\r\n", name)
	}
	for _, v := range vars {
		fmt.Fprintf(&b, "set \"%s=%s\"\r\n", v.Name, v.Value)
	}
	return b.Bytes(), nil
}

package awsconfig

// Before a write replaces a file, the new content is checked against the old
// one twice: once with this package's own parser (the bytes and keys outside
// the profile's sections are unchanged, the profile holds exactly what was
// asked) and once with gopkg.in/ini.v1, an independent parser, whenever
// ini.v1 read the old file the same way ours did. A splice bug then refuses
// the write instead of damaging the user's file.

import (
	"fmt"
	"strings"

	"gopkg.in/ini.v1"
)

// verifySplice checks data, the edited file, against old.
func verifySplice(path string, old, data []byte, oldDoc *document, e sectionEdit) error {
	refuse := func(what string) error {
		return fmt.Errorf("write %s to %s: refused because the edit would %s; the file was left unchanged (this is a rolecall bug: please report it)", e.label, path, what)
	}
	newDoc, err := parseDocument(path, data)
	if err != nil {
		return refuse("not parse")
	}
	oldT, newT := targetsOf(oldDoc, e), targetsOf(newDoc, e)
	if len(newT) != max(len(oldT), 1) {
		return refuse("change how many sections the profile has")
	}
	oldOut, newOut := outside(oldDoc, oldT), outside(newDoc, newT)
	if len(oldT) == 0 {
		// A new section: the rest of the file may gain a final line break
		// and one blank line before it, nothing else.
		rest, ok := strings.CutPrefix(newOut, oldOut)
		if !ok || strings.Trim(rest, "\r\n") != "" || len(rest) > 4 {
			return refuse("change the file outside the profile")
		}
	} else if newOut != oldOut {
		return refuse("change the file outside the profile")
	}
	if !sameSections(others(oldDoc, oldT), others(newDoc, newT)) {
		return refuse("change other sections' keys")
	}
	if len(newDoc.issues) > len(oldDoc.issues) {
		return refuse("repeat a section or key")
	}
	want := merged(oldT)
	for _, k := range e.remove {
		delete(want, k)
	}
	for _, kv := range e.set {
		want[kv.Key] = kv.Value
	}
	if !equalMaps(want, merged(newT)) {
		return refuse("not store the keys as asked")
	}
	if !iniAgrees(old, data, oldDoc, newDoc) {
		return refuse("read differently with gopkg.in/ini.v1")
	}
	return nil
}

func targetsOf(doc *document, e sectionEdit) []*section {
	var out []*section
	for _, s := range doc.sections {
		if e.match(s.name) {
			out = append(out, s)
		}
	}
	return out
}

func others(doc *document, targets []*section) []*section {
	var out []*section
	for _, s := range doc.sections {
		if !containsSection(targets, s) {
			out = append(out, s)
		}
	}
	return out
}

func containsSection(ss []*section, s *section) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// outside is the file's bytes with the target sections' lines cut out.
func outside(doc *document, targets []*section) string {
	skip := make([]bool, len(doc.lines))
	for _, s := range targets {
		for i := s.header; i < s.end; i++ {
			skip[i] = true
		}
	}
	var b strings.Builder
	for i, l := range doc.lines {
		if !skip[i] {
			b.WriteString(l.text)
			b.WriteString(l.eol)
		}
	}
	return b.String()
}

func sameSections(a, b []*section) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].name != b[i].name || len(a[i].opts) != len(b[i].opts) {
			return false
		}
		for j := range a[i].opts {
			if a[i].opts[j].name != b[i].opts[j].name || a[i].opts[j].value != b[i].opts[j].value {
				return false
			}
		}
	}
	return true
}

// merged is the profile's keys over all its sections, later ones winning.
func merged(targets []*section) map[string]string {
	m := map[string]string{}
	for _, s := range targets {
		for _, o := range s.opts {
			m[o.name] = o.value
		}
	}
	return m
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// iniOptions bring gopkg.in/ini.v1 as close to configparser as it goes:
// no inline comments, quotes kept, no backslash continuations, keys
// lowercased, repeated sections kept apart.
var iniOptions = ini.LoadOptions{
	IgnoreInlineComment:     true,
	PreserveSurroundedQuote: true,
	IgnoreContinuation:      true,
	InsensitiveKeys:         true,
	AllowNonUniqueSections:  true,
}

// iniAgrees reports whether ini.v1 reads the new file as our parser does,
// given that it read the old one so. Where ini.v1 and configparser part ways
// on the old file (indented continuation lines, [DEFAULT], backtick or
// triple-quoted values, repeats, keys before the first section, lines that
// end in a lone CR), ini.v1 has nothing to say and the check passes.
func iniAgrees(old, data []byte, oldDoc, newDoc *document) bool {
	if !iniMatches(old, oldDoc) {
		return true
	}
	return iniMatches(data, newDoc)
}

// iniMatches reports whether ini.v1 parses data into the same sections,
// keys and values as doc.
func iniMatches(data []byte, doc *document) bool {
	if len(doc.issues) > 0 {
		return false
	}
	for _, l := range doc.lines {
		if l.eol == "\r" {
			return false // ini.v1 breaks lines at "\n" only
		}
	}
	f, err := ini.LoadSources(iniOptions, data)
	if err != nil {
		return false
	}
	secs := f.Sections()
	if len(secs) > 0 && secs[0].Name() == ini.DefaultSection {
		if len(secs[0].Keys()) > 0 {
			return false
		}
		secs = secs[1:]
	}
	if len(secs) != len(doc.sections) {
		return false
	}
	for i, s := range doc.sections {
		if s.name == defaultSection || secs[i].Name() != s.name {
			return false
		}
		keys := secs[i].Keys()
		if len(keys) != len(s.opts) {
			return false
		}
		for j, o := range s.opts {
			if strings.Contains(o.value, "\n") || keys[j].Name() != o.name || keys[j].Value() != o.value {
				return false
			}
		}
	}
	return true
}

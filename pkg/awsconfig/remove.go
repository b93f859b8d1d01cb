package awsconfig

import (
	"context"
	"strings"
)

// RemoveConfigProfile deletes profile name from the config file at path:
// its section header and keys, and the blank lines after them; every other
// byte stays as it was (the comments after the keys too: they may belong
// to the section below). Only a profile rolecall wrote (ManagedKey) is
// removed; any other is refused with an error wrapping
// ErrUnmanagedSection. A profile that is not there is no error.
func RemoveConfigProfile(ctx context.Context, path, name string, opt WriteOptions) error {
	header := "[profile " + name + "]"
	if name == "default" {
		header = "[default]"
	}
	e := sectionEdit{
		label: header,
		match: func(section string) bool {
			n, ok := configProfileName(section)
			return ok && n == name
		},
		drop: true,
		check: func(path string, e sectionEdit, targets []*section) error {
			return checkManaged(path, e.label, targets)
		},
	}
	return updateFile(ctx, path, e, opt.LockTimeout)
}

// dropSections is the document without the target sections: each from its
// header through its last key and the blank lines after it.
func dropSections(doc *document, targets []*section) []byte {
	del := map[int]bool{}
	for _, s := range targets {
		end := s.header + 1
		if n := len(s.opts); n > 0 {
			end = s.opts[n-1].last + 1
		}
		for end < s.end && strings.TrimSpace(doc.lines[end].text) == "" {
			end++
		}
		for i := s.header; i < end; i++ {
			del[i] = true
		}
	}
	var out []rawLine
	for i, l := range doc.lines {
		if !del[i] {
			out = append(out, l)
		}
	}
	return join(out)
}

package awsconfig

// Writes: the lock protocol and the splice.
//
// Lock: every writer takes an exclusive flock on PATH.lock (PATH being the
// file after following symlinks; the lock file itself is never a symlink,
// see safefile.Acquire) before it reads the file, and holds it until the
// new file is renamed into place, so concurrent writers (other
// rolecall processes included) serialise and none loses another's section.
// The lock file is left in place: deleting it would let two writers lock two
// different files.
//
// Splice: the file is parsed (parse.go), and only the lines of the sections
// being written change: a key that exists keeps its line and its spelling up
// to the value, a key that is new goes after the section's last key, a
// removed key loses its lines, and a new section goes at the end after one
// blank line. Every other byte (comments, blank lines, odd spacing, CRLF, a
// missing final newline) is copied as it was. Before anything is written the
// result is parsed again and compared with the original (check.go); a file
// that does not parse is left untouched.
//
// Replace: safefile.Replace writes a temp file in the same directory,
// created 0600, syncs it, renames it over the file and syncs the directory,
// so a crash leaves either the old file or the new one, never a mix.

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rolecall/rolecall/pkg/creds"
	"github.com/rolecall/rolecall/pkg/safefile"
)

// Keys rolecall writes besides the credentials themselves.
const (
	// ManagedKey marks a credentials file section (or a config profile) as
	// written by rolecall, which may then refresh it without --force. The
	// SDKs ignore unknown keys.
	ManagedKey = "x_rolecall_managed"
	// ExpiresKey holds the credentials' expiration in RFC 3339, under the
	// name saml2aws and gimme-aws-creds use, so tools that show it keep
	// working.
	ExpiresKey = "x_security_token_expires"
)

// ErrUnmanagedSection is returned (wrapped) when a write would overwrite a
// credentials file section rolecall did not write.
var ErrUnmanagedSection = errors.New("section not written by rolecall")

// KeyValue is one key to set in a section.
type KeyValue struct{ Key, Value string }

// WriteOptions tune a write.
type WriteOptions struct {
	// Force lets a write change a section rolecall did not write: overwrite
	// its credentials (long-term keys included), or replace or delete its
	// keys.
	Force bool
	// Remove lists keys to delete from the section.
	Remove []string
	// LockTimeout bounds the wait for another writer's lock on the file
	// (safefile.DefaultLockTimeout when zero); the write's context bounds
	// it too. A wait that runs out is a *safefile.LockTimeoutError, and
	// nothing is written.
	LockTimeout time.Duration
	// Managed makes WriteConfigProfile treat the profile as rolecall's, as
	// WriteCredentialsSection always does: it also sets ManagedKey, and an
	// existing profile without that key is left alone unless Force.
	Managed bool
}

// WriteCredentialsSection stores c in section name of the shared credentials
// file at path: aws_access_key_id, aws_secret_access_key, aws_session_token
// (removed when empty), x_security_token_expires (removed when the
// credentials do not expire) and the x_rolecall_managed marker. A stale
// aws_security_token (the legacy alias some tools read) is removed. A section
// that exists without the marker, or that holds long-term keys (AKIA…), is
// left alone unless opt.Force. Nothing else in the file changes; a file the
// AWS CLI would refuse (a repeated section or key included) is not written.
// The wait for the file's lock ends with ctx or opt.LockTimeout.
func WriteCredentialsSection(ctx context.Context, path, name string, c creds.Credentials, opt WriteOptions) error {
	if err := ValidateProfileName(name); err != nil {
		return err
	}
	set := []KeyValue{
		{"aws_access_key_id", c.AccessKeyID},
		{"aws_secret_access_key", c.SecretAccessKey},
	}
	remove := append([]string{"aws_security_token"}, opt.Remove...)
	if c.SessionToken != "" {
		set = append(set, KeyValue{"aws_session_token", c.SessionToken})
	} else {
		remove = append(remove, "aws_session_token")
	}
	if !c.Expiration.IsZero() {
		set = append(set, KeyValue{ExpiresKey, c.Expiration.UTC().Format(time.RFC3339)})
	} else {
		remove = append(remove, ExpiresKey)
	}
	set = append(set, KeyValue{ManagedKey, "true"})
	if c.AccessKeyID == "" || c.SecretAccessKey == "" {
		return fmt.Errorf("write [%s] to %s: the credentials have no access key ID or secret key", name, path)
	}
	e := sectionEdit{
		label:  "[" + name + "]",
		header: "[" + name + "]",
		match:  func(section string) bool { return section == name },
		set:    set,
		remove: remove,
	}
	if !opt.Force {
		e.check = func(path string, _ sectionEdit, targets []*section) error {
			return checkManaged(path, e.label, targets)
		}
	}
	return updateFile(ctx, path, e, opt.LockTimeout)
}

// WriteConfigProfile sets keys in profile name of the config file at path
// ("[profile NAME]", or "[default]" for default), adding the section at the
// end if there is none, and deletes the keys opt.Remove lists. Keys neither
// set nor removed are kept, and nothing else in the file changes; a file the
// AWS CLI would refuse is not written.
//
// A profile without x_rolecall_managed = true was not written by rolecall:
// unless opt.Force, it may gain keys but keeps every value it has, and a
// write that would change or delete one is refused with an error (wrapping
// ErrUnmanagedSection) that names the keys it would replace. Callers that
// take a profile over set ManagedKey among keys. With opt.Managed the
// profile is rolecall's: ManagedKey is set, and an existing profile without
// it is not written at all (unless opt.Force). The wait for the file's lock
// ends with ctx or opt.LockTimeout.
func WriteConfigProfile(ctx context.Context, path, name string, keys []KeyValue, opt WriteOptions) error {
	if err := ValidateProfileName(name); err != nil {
		return err
	}
	header := "[profile " + name + "]"
	if name == "default" {
		header = "[default]"
	}
	e := sectionEdit{
		label:  header,
		header: header,
		match: func(section string) bool {
			n, ok := configProfileName(section)
			return ok && n == name
		},
		set:    keys,
		remove: opt.Remove,
	}
	if opt.Managed {
		e.set = append(append([]KeyValue(nil), keys...), KeyValue{ManagedKey, "true"})
		if !opt.Force {
			e.check = func(path string, _ sectionEdit, targets []*section) error {
				return checkManaged(path, e.label, targets)
			}
		}
	} else if !opt.Force {
		e.check = checkProfileReplace
	}
	return updateFile(ctx, path, e, opt.LockTimeout)
}

// checkManaged refuses to overwrite a section (label: "[name]" or
// "[profile name]") rolecall did not write, and above all one holding an
// IAM user's long-term keys.
func checkManaged(path, label string, targets []*section) error {
	if len(targets) == 0 {
		return nil
	}
	have := merged(targets)
	at := fmt.Sprintf("section %s of %s (line %d)", label, path, targets[len(targets)-1].header+1)
	if strings.HasPrefix(have["aws_access_key_id"], "AKIA") {
		return fmt.Errorf("%s holds long-term access keys (AKIA…) that rolecall did not write; use --force to overwrite them, or pick another name: %w", at, ErrUnmanagedSection)
	}
	if len(have) > 0 && !strings.EqualFold(have[ManagedKey], "true") {
		return fmt.Errorf("%s was not written by rolecall; use --force to overwrite it, or pick another name: %w", at, ErrUnmanagedSection)
	}
	return nil
}

// checkProfileReplace refuses an edit that would change or delete a value
// of a config profile rolecall did not write, naming the keys.
func checkProfileReplace(path string, e sectionEdit, targets []*section) error {
	have := merged(targets)
	if len(targets) == 0 || strings.EqualFold(have[ManagedKey], "true") {
		return nil
	}
	var replaced []string
	for _, kv := range e.set {
		if v, ok := have[kv.Key]; ok && v != kv.Value {
			replaced = append(replaced, kv.Key)
		}
	}
	for _, k := range e.remove {
		if _, ok := have[k]; ok {
			replaced = append(replaced, k)
		}
	}
	if len(replaced) == 0 {
		return nil
	}
	return fmt.Errorf("%s in %s (line %d) was not written by rolecall, and writing it would replace its %s; use --force to replace them, or pick another name: %w",
		e.label, path, targets[len(targets)-1].header+1, strings.Join(replaced, ", "), ErrUnmanagedSection)
}

// ValidateProfileName is the one rule for a profile or section name that
// rolecall writes (--write-profile, -f ini, configure): it accepts names that
// every reader parses back the same:
// no brackets, quotes, backslashes, comment characters, white space or
// control characters (botocore splits "[profile NAME]" with shlex, and the
// Go SDK cuts a header at "#" or ";").
func ValidateProfileName(name string) error {
	if name == "" {
		return errors.New("the profile name is empty")
	}
	if name == defaultSection {
		return fmt.Errorf("profile name %q is reserved: the AWS CLI reads [DEFAULT] as defaults for every section; pick another name", name)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || pyIsSpace(r) || strings.ContainsRune(`[]"'\#;`, r) {
			return fmt.Errorf("profile name %q has a character (%q) the AWS config files cannot hold; use letters, digits, - _ . @ + = , /", name, r)
		}
	}
	return nil
}

// validateKeyValue refuses what would not read back as written: a key that
// is not a plain name, and a value with a line break or with white space at
// either end (the parser strips it).
func validateKeyValue(kv KeyValue) error {
	if kv.Key == "" {
		return errors.New("empty key name")
	}
	for _, r := range kv.Key {
		if !isKeyChar(r) {
			return fmt.Errorf("key %q: use letters, digits, _ - and . only", kv.Key)
		}
	}
	if strings.ContainsAny(kv.Value, "\r\n") {
		return fmt.Errorf("the value for %s has a line break", kv.Key)
	}
	if kv.Value != pyStrip(kv.Value) {
		return fmt.Errorf("the value for %s starts or ends with white space", kv.Key)
	}
	return nil
}

func isKeyChar(r rune) bool {
	return r == '_' || r == '-' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
}

// sectionEdit describes one write.
type sectionEdit struct {
	label  string                    // for messages: "[name]" or "[profile name]"
	header string                    // header line of a new section
	match  func(section string) bool // the sections that make up the profile
	set    []KeyValue
	remove []string
	// check may refuse the write after the file is read under the lock;
	// it sees the edit with its keys lowercased.
	check func(path string, e sectionEdit, targets []*section) error
	// drop deletes the target sections instead (RemoveConfigProfile).
	drop bool
}

// updateFile applies e to the file at path under the lock, waiting for
// the lock at most lockTimeout and as long as ctx allows.
func updateFile(ctx context.Context, path string, e sectionEdit, lockTimeout time.Duration) error {
	// Copies: the caller's slices are not ours to lowercase.
	set := make([]KeyValue, len(e.set))
	for i, kv := range e.set {
		if err := validateKeyValue(kv); err != nil {
			return fmt.Errorf("write %s to %s: %w", e.label, path, err)
		}
		set[i] = KeyValue{strings.ToLower(kv.Key), kv.Value}
	}
	remove := make([]string, len(e.remove))
	for i, k := range e.remove {
		remove[i] = strings.ToLower(k)
	}
	e.set, e.remove = set, remove
	target, err := resolveTarget(path)
	if err != nil {
		return err
	}
	dir := filepath.Dir(target)
	if err := os.MkdirAll(dir, 0o700); err != nil { //nolint:gosec // the directory of the AWS file the user chose
		return fmt.Errorf("create %s: %w", dir, err)
	}
	lock, err := safefile.Acquire(ctx, target+".lock", lockTimeout)
	if err != nil {
		var timeout *safefile.LockTimeoutError
		if errors.As(err, &timeout) {
			timeout.Kind = "AWS file lock"
			timeout.Holder = "another process (rolecall, or a tool that shares its lock) is writing " + target
		}
		return fmt.Errorf("write %s to %s: %w", e.label, target, err)
	}
	defer lock.Release()

	old, err := readAWSFile(target)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("read %s: %w", target, err)
	}
	doc, err := parseDocument(target, old)
	if err == nil {
		// A repeated section or key: the splice could cope, but the AWS
		// CLI refuses the file, so writing would hand back a file that
		// still does not work and hide why.
		err = doc.firstIssue(target)
	}
	if err != nil {
		return fmt.Errorf("%w (the file was left unchanged)", err)
	}
	var targets []*section
	for _, s := range doc.sections {
		if e.match(s.name) {
			targets = append(targets, s)
		}
	}
	if e.check != nil {
		if err := e.check(target, e, targets); err != nil {
			return err
		}
	}
	var data []byte
	if e.drop {
		data = dropSections(doc, targets)
	} else {
		data = splice(doc, targets, e)
		if err := verifySplice(target, old, data, doc, e); err != nil {
			return err
		}
	}
	if string(data) == string(old) {
		return nil
	}
	return safefile.Replace(target, data)
}

// resolveTarget follows symlinks, so that a credentials file kept in a
// dotfiles repository stays a symlink and its target is what changes.
func resolveTarget(path string) (string, error) {
	fi, err := os.Lstat(path) //nolint:gosec // the AWS file the user chose
	if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		if err == nil && fi.IsDir() {
			return "", fmt.Errorf("write %s: it is a directory", path)
		}
		return path, nil
	}
	dest, err := filepath.EvalSymlinks(path)
	if err == nil {
		if fi, err := os.Stat(dest); err == nil && fi.IsDir() { //nolint:gosec // the AWS file the user chose
			return "", fmt.Errorf("write %s: it is a directory", path)
		}
		return dest, nil
	}
	// A dangling link: create the file it points to.
	dest, err = os.Readlink(path)
	if err != nil {
		return "", fmt.Errorf("read link %s: %w", path, err)
	}
	if !filepath.IsAbs(dest) {
		dest = filepath.Join(filepath.Dir(path), dest)
	}
	return dest, nil
}

// splice returns the file with e applied to targets (the sections that make
// up the profile, in file order; none when it is new). The last of them is
// the one readers that merge duplicates let win, so it gets the keys; the
// keys being set or removed are deleted from the others, so no reader
// sees a stale value.
func splice(doc *document, targets []*section, e sectionEdit) []byte {
	touched := map[string]bool{}
	for _, kv := range e.set {
		touched[kv.Key] = true
	}
	for _, k := range e.remove {
		touched[k] = true
	}
	del := map[int]bool{}
	repl := map[int]rawLine{}
	deleteOpt := func(o option) {
		for i := o.first; i <= o.last; i++ {
			del[i] = true
		}
	}
	for i, s := range targets {
		if i == len(targets)-1 {
			break
		}
		for _, o := range s.opts {
			if touched[o.name] {
				deleteOpt(o)
			}
		}
	}

	if len(targets) == 0 {
		return appendSection(doc, e)
	}
	primary := targets[len(targets)-1]
	var pending []KeyValue
	for _, kv := range e.set {
		found := false
		for _, o := range primary.opts {
			if o.name != kv.Key {
				continue
			}
			if found {
				deleteOpt(o) // a repeated key: keep only the first
				continue
			}
			found = true
			deleteOpt(o)
			delete(del, o.first)
			repl[o.first] = rawLine{text: keyPrefix(doc.lines[o.first].text) + kv.Value, eol: doc.lines[o.last].eol}
		}
		if !found {
			pending = append(pending, kv)
		}
	}
	setKeys := map[string]bool{}
	for _, kv := range e.set {
		setKeys[kv.Key] = true
	}
	for _, o := range primary.opts {
		if touched[o.name] && !setKeys[o.name] {
			deleteOpt(o)
		}
	}

	// New keys go after the section's last key, indented like it, so the
	// comments and blank lines that end the section stay after them and no
	// following line turns into a continuation.
	anchor, indent := primary.header, ""
	if n := len(primary.opts); n > 0 {
		last := primary.opts[n-1]
		anchor, indent = last.last, leadingSpace(doc.lines[last.first].text)
	} else if primary.end < len(doc.lines) {
		indent = leadingSpace(doc.lines[primary.end].text)
	}

	var out []rawLine
	for i, l := range doc.lines {
		if r, ok := repl[i]; ok {
			out = append(out, r)
		} else if !del[i] {
			out = append(out, l)
		}
		if i == anchor && len(pending) > 0 {
			out = appendKeys(out, pending, indent, eolNear(doc, anchor))
		}
	}
	if n := len(doc.lines); n > 0 && doc.lines[n-1].eol == "" && len(out) > 0 {
		// The file ended without a final line break; so does the result
		// (the end can only have moved inside the profile's section).
		out[len(out)-1].eol = ""
	}
	return join(out)
}

// appendKeys adds key lines after out, giving the line before them a line
// break if it had none (and the last new line none, so a file that ended
// without a final newline still does).
func appendKeys(out []rawLine, kvs []KeyValue, indent, eol string) []rawLine {
	finalEOL := eol
	if n := len(out); n > 0 && out[n-1].eol == "" {
		out[n-1].eol = eol
		finalEOL = ""
	}
	for i, kv := range kvs {
		l := rawLine{text: indent + kv.Key + " = " + kv.Value, eol: eol}
		if i == len(kvs)-1 {
			l.eol = finalEOL
		}
		out = append(out, l)
	}
	return out
}

// appendSection adds a new section at the end, after one blank line.
func appendSection(doc *document, e sectionEdit) []byte {
	out := append([]rawLine(nil), doc.lines...)
	eol := eolNear(doc, len(out)-1)
	if n := len(out); n > 0 {
		if out[n-1].eol == "" {
			out[n-1].eol = eol
		}
		if pyStrip(out[n-1].text) != "" {
			out = append(out, rawLine{eol: eol})
		}
	}
	out = append(out, rawLine{text: e.header, eol: eol})
	for _, kv := range e.set {
		out = append(out, rawLine{text: kv.Key + " = " + kv.Value, eol: eol})
	}
	return join(out)
}

// eolNear is the line break of line i or the nearest line before it that
// has one, so new lines match their neighbours in a file whose line
// endings are mixed; the file's first line break when there is none.
func eolNear(doc *document, i int) string {
	for ; i >= 0; i-- {
		if doc.lines[i].eol != "" {
			return doc.lines[i].eol
		}
	}
	return doc.eol
}

func join(lines []rawLine) []byte {
	n := 0
	for _, l := range lines {
		n += len(l.text) + len(l.eol)
	}
	b := make([]byte, 0, n)
	for _, l := range lines {
		b = append(b, l.text...)
		b = append(b, l.eol...)
	}
	return b
}

// keyPrefix is a key line up to its value: indentation, the key as
// written, the delimiter and the space after it ("key = ", "Key=").
func keyPrefix(text string) string {
	lead := len(leadingSpace(text))
	i := lead + strings.IndexAny(text[lead:], "=:")
	j := i + 1
	for j < len(text) && (text[j] == ' ' || text[j] == '\t') {
		j++
	}
	if j == len(text) && j == i+1 {
		return text + " " // "key =" with no value yet
	}
	return text[:j]
}

func leadingSpace(s string) string {
	return s[:len(s)-len(strings.TrimLeftFunc(s, pyIsSpace))]
}

// RemoveStaticKeys deletes an IAM user's keys (aws_access_key_id,
// aws_secret_access_key, and any aws_session_token or aws_security_token)
// from section name of the shared credentials file at path, once they are
// kept elsewhere (rolecall keys add --from-credentials-file). It takes the
// lock WriteCredentialsSection takes, and removes nothing unless the
// section still holds the key accessKeyID (another writer may have changed
// it since it was read). The section's other keys, and every other byte of
// the file, stay.
func RemoveStaticKeys(ctx context.Context, path, name, accessKeyID string, opt WriteOptions) error {
	e := sectionEdit{
		label:  "[" + name + "]",
		header: "[" + name + "]",
		match:  func(section string) bool { return section == name },
		remove: []string{"aws_access_key_id", "aws_secret_access_key", "aws_session_token", "aws_security_token"},
	}
	e.check = func(path string, _ sectionEdit, targets []*section) error {
		for i := len(targets) - 1; i >= 0; i-- {
			if o, ok := targets[i].lookup("aws_access_key_id"); ok {
				if o.value != accessKeyID {
					return fmt.Errorf("[%s] in %s now holds another access key than the one stored; nothing was removed", name, path)
				}
				return nil
			}
		}
		return fmt.Errorf("[%s] in %s holds no aws_access_key_id any more; nothing was removed", name, path)
	}
	return updateFile(ctx, path, e, opt.LockTimeout)
}

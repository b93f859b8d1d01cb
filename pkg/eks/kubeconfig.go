package eks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/rolecall/rolecall/pkg/safefile"
)

// User is a kubeconfig users entry whose exec plugin runs rolecall.
type User struct {
	// Name is the entry's name, which contexts refer to.
	Name string
	// Command is the program kubectl runs (rolecall, or its path).
	Command string
	// Args are its arguments: eks token --cluster NAME and the request.
	Args []string
}

// node is the entry as YAML: kubectl's exec plugin settings
// (k8s.io/client-go/tools/clientcmd/api/v1 ExecConfig). interactiveMode
// IfAvailable lets an MFA prompt reach the terminal when there is one;
// provideClusterInfo false: the token needs nothing of the cluster but its
// name, which is in the arguments.
func (u User) node() *yaml.Node {
	args := &yaml.Node{Kind: yaml.SequenceNode}
	for _, a := range u.Args {
		args.Content = append(args.Content, str(a))
	}
	exec := mapping(
		field{"apiVersion", str(APIVersionV1Beta1)},
		field{"command", str(u.Command)},
		field{"args", args},
		field{"interactiveMode", str("IfAvailable")},
		field{"provideClusterInfo", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "false"}},
	)
	return mapping(field{"name", str(u.Name)}, field{"user", mapping(field{"exec", exec})})
}

// Fragment is a kubeconfig that holds only u: for KUBECONFIG=a:b merging,
// or to paste.
func (u User) Fragment() ([]byte, error) {
	doc := mapping(field{"apiVersion", str("v1")}, field{"kind", str("Config")},
		field{"users", &yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{u.node()}}})
	return encode(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{doc}})
}

// KubeconfigPath is the file `kubectl config` would write a new entry to:
// with KUBECONFIG set, the first of its files that exists, else its last
// (client-go's ClientConfigLoadingRules.GetDefaultFilename); else
// ~/.kube/config.
func KubeconfigPath(kubeconfigEnv, home string) string {
	if kubeconfigEnv != "" {
		files := filepath.SplitList(kubeconfigEnv)
		var last string
		for _, f := range files {
			if f == "" {
				continue
			}
			last = f
			if _, err := os.Stat(f); err == nil {
				return f
			}
		}
		if last != "" {
			return last
		}
	}
	return filepath.Join(home, ".kube", "config")
}

// WriteUser merges u into the kubeconfig at path: it replaces the users
// entry of the same name, or appends one, and leaves everything else as it
// was (the result is parsed again and compared before it replaces the
// file). The file is replaced atomically (safefile.Replace, mode 0600), a
// symlink's target rather than the link. Writers queue on a flock of their
// own (PATH.rolecall-lock) and hold kubectl's lock (PATH.lock, created
// exclusively by client-go's writers) while they write, so neither kubectl
// config nor another rolecall loses an edit.
func WriteUser(ctx context.Context, path string, u User, timeout time.Duration) error {
	if resolved, err := filepath.EvalSymlinks(path); err == nil {
		path = resolved
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(path), err)
	}
	lock, err := safefile.Acquire(ctx, path+".rolecall-lock", timeout)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer lock.Release()
	kubeLock, err := os.OpenFile(path+".lock", os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600) //nolint:gosec // client-go's lock file beside the kubeconfig
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return &KubeconfigLockedError{Path: path + ".lock"}
		}
		return fmt.Errorf("lock %s: %w", path, err)
	}
	defer func() {
		_ = kubeLock.Close()
		_ = os.Remove(path + ".lock")
	}()

	old, err := safefile.ReadFile(path, safefile.ReadOptions{MaxSize: 16 << 20})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("read %s: %w", path, err)
	}
	data, err := mergeUser(old, u)
	if err != nil {
		return fmt.Errorf("%s: %w (the file was left unchanged)", path, err)
	}
	if bytes.Equal(data, old) {
		return nil
	}
	return safefile.Replace(path, data)
}

// KubeconfigLockedError is kubectl's lock file beside the kubeconfig.
type KubeconfigLockedError struct{ Path string }

func (e *KubeconfigLockedError) Error() string {
	return fmt.Sprintf("%s exists: kubectl (or another client-go program) is writing the kubeconfig, or died while it did", e.Path)
}

// mergeUser returns the kubeconfig old with u's entry in its users list.
func mergeUser(old []byte, u User) ([]byte, error) {
	var doc yaml.Node
	if len(bytes.TrimSpace(old)) > 0 {
		if err := yaml.Unmarshal(old, &doc); err != nil {
			return nil, fmt.Errorf("not a kubeconfig (YAML): %w", err)
		}
	}
	if doc.Kind == 0 {
		doc = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{mapping(field{"apiVersion", str("v1")}, field{"kind", str("Config")})}}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("not a kubeconfig: the document is not a mapping")
	}
	root := doc.Content[0]
	users := value(root, "users")
	if users == nil || (users.Kind == yaml.ScalarNode && users.Tag == "!!null") {
		seq := &yaml.Node{Kind: yaml.SequenceNode}
		if users == nil {
			root.Content = append(root.Content, str("users"), seq)
		} else {
			*users = *seq
		}
		users = value(root, "users")
	}
	if users.Kind != yaml.SequenceNode {
		return nil, errors.New("not a kubeconfig: users is not a list")
	}
	entry := u.node()
	replaced := false
	for i, item := range users.Content {
		if name := value(item, "name"); name != nil && name.Value == u.Name {
			users.Content[i] = entry
			replaced = true
			break
		}
	}
	if !replaced {
		users.Content = append(users.Content, entry)
	}
	data, err := encode(&doc)
	if err != nil {
		return nil, err
	}
	if err := sameBesides(old, data, u.Name); err != nil {
		return nil, err
	}
	return data, nil
}

// sameBesides checks that before and after say the same thing once the
// users entry name is taken out of both, and that after holds it.
func sameBesides(before, after []byte, name string) error {
	var b, a map[string]any
	if err := yaml.Unmarshal(before, &b); err != nil {
		return err
	}
	if err := yaml.Unmarshal(after, &a); err != nil {
		return fmt.Errorf("the merged kubeconfig does not parse: %w", err)
	}
	found := false
	strip := func(m map[string]any, isAfter bool) {
		list, _ := m["users"].([]any)
		var kept []any
		for _, item := range list {
			if e, ok := item.(map[string]any); ok && e["name"] == name {
				found = found || isAfter
				continue
			}
			kept = append(kept, item)
		}
		delete(m, "users")
		if len(kept) > 0 {
			m["users"] = kept
		}
	}
	if b == nil {
		b = map[string]any{"apiVersion": "v1", "kind": "Config"}
	}
	strip(b, false)
	strip(a, true)
	if !found || !reflect.DeepEqual(a, b) {
		return errors.New("merging the user entry would change other parts of the kubeconfig")
	}
	return nil
}

func encode(n *yaml.Node) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return nil, fmt.Errorf("encode kubeconfig: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode kubeconfig: %w", err)
	}
	return buf.Bytes(), nil
}

func str(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
}

// field is one key and value of a mapping.
type field struct {
	key   string
	value *yaml.Node
}

// mapping builds a mapping of fields, in order.
func mapping(fields ...field) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode}
	for _, f := range fields {
		n.Content = append(n.Content, str(f.key), f.value)
	}
	return n
}

// value is the value of key in mapping n, or nil.
func value(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

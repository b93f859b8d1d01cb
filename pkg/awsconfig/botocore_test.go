package awsconfig

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// botocoreScript loads each case the way the AWS CLI v2 (Debian's awscli
// package, which .ci/run installs) does: configloader.load_config for the
// config file, then Session.full_config's merge of the credentials file's
// sections. It prints, per case, the profiles (nested values as objects) or
// that the files did not parse.
const botocoreScript = `
import json, sys
sys.path.insert(0, "/usr/lib/python3/dist-packages")
from awscli.botocore import configloader

def load(fn, path):
    # The exception classes are matched by name: awscli's vendored
    # botocore raises them from the module it imports as "botocore".
    try:
        return fn(path)
    except Exception as e:
        if type(e).__name__ == "ConfigNotFound":
            return None
        raise

out = []
for d in sys.argv[1:]:
    try:
        loaded = load(configloader.load_config, d + "/config")
        profiles = loaded["profiles"] if loaded else {}
        for name, values in (load(configloader.raw_config_parse, d + "/credentials") or {}).items():
            if name in profiles:
                profiles[name].update(values)
            else:
                profiles[name] = values
        out.append({"profiles": profiles})
    except Exception as e:
        if type(e).__name__ != "ConfigParseError":
            raise
        out.append({"error": True})
print(json.dumps(out))
`

// compatCases are files whose reading differs between INI parsers; each is
// checked against botocore itself.
var compatCases = []struct {
	name          string
	config, creds string
}{
	{name: "inline comments and quotes stay in the value", config: "[default]\nregion = us-east-1 # not a comment\noutput = json ; nor this\nexternal_id = \"quoted\"\nq = 'single'\n"},
	{name: "colon delimiter and odd spacing", config: "[default]\nregion: eu-west-1\noutput=json\n  cli_pager   =   less  \nrole_arn arn:aws:iam::1:role/x\n"},
	{name: "keys are lowercased, section names are not", config: "[profile Dev]\nRegion = x\nROLE_ARN = y\n[profile dev]\nregion = z\n"},
	{name: "DEFAULT is inherited", config: "[DEFAULT]\nregion = eu-north-1\n[default]\n[profile a]\nregion = own\n", creds: "[DEFAULT]\naws_access_key_id = AKIADEFAULT\n[a]\naws_secret_access_key = s\n"},
	{name: "default then profile default", config: "[default]\nregion = a\noutput = json\n[profile default]\nregion = b\n"},
	{name: "profile default then default", config: "[profile default]\nregion = b\n[default]\nregion = a\n"},
	{name: "continuation lines and blank lines inside a value", config: "[default]\nk = first\n  second\n\n  third\n\nnext = v\n"},
	{name: "an indented header continues a value", config: "[default]\nregion = x\n  [profile hidden]\nk = v\n"},
	{name: "an indented header after a header is a header", config: "[default]\n  [profile shown]\n  region = y\n  k = v\n"},
	{name: "indented keys", config: "[profile a]\n  region = x\n    more\n  output = json\n"},
	{name: "profile names through shlex", config: "[profile \"a b\"]\nregion = 1\n[profile 'c']\nregion = 2\n[profilex]\nregion = 3\n[ profile y ]\nregion = 4\n[profile p q]\nregion = 5\n[profile   spaced]\nregion = 6\n[profile \"unclosed]\nregion = 7\n[profile a\\ b2]\nregion = 8\n"},
	{name: "nested services", config: "[services s]\nsts =\n  endpoint_url = http://localhost:1\n  x=y=z\ns3 =\n\n  addressing_style = path\n[profile a]\nservices = s\n"},
	{name: "unicode", config: "[profile ü]\nregion = ä # é\nkey_ñ = ☃\n"},
	{name: "credentials override config keys", config: "[profile a]\nregion = x\naws_access_key_id = CONFIG\n", creds: "[a]\naws_access_key_id = CREDS\n[profile b]\nregion = y\n"},
	{name: "header text after the bracket", config: "[profile a] # note\nregion = x\n[profile b]]\nregion = y\n[[profile c]\nregion = z\n"},
	{name: "CR line endings", config: "[default]\rregion = x\r  cont\r[profile a]\rregion = y\r"},
	{name: "CRLF and no final newline", config: "[default]\r\nregion = x\r\n\r\n[profile a]\r\nregion = y"},
	{name: "tabs and unicode spaces", config: "[default]\n\tregion\t=\tx\t\n\u00a0output = json\u00a0\n"},
	{name: "empty values", config: "[default]\nregion =\ncli_pager=\n"},
	{name: "information separators are white space to Python", config: "[default]\nregion = \x1cx\x1f\nk\x1d = \x1by\x1e\n"},
	{name: "backslashes in a double-quoted profile name", config: "[profile \"a\\b\"]\nregion = 1\n[profile \"c\\\"d\"]\nregion = 2\n[profile \"e\\\\f\"]\nregion = 3\n"},
	{name: "comment lines inside a value", config: "[default]\nk = a\n  # not part\n  b\n;x\n  c\n"},
	{name: "repeated section", config: "[default]\nregion = a\n[default]\noutput = json\n"},
	{name: "repeated key", config: "[default]\nregion = a\nREGION = b\n"},
	{name: "repeated DEFAULT is allowed", config: "[DEFAULT]\na = 1\n[DEFAULT]\nb = 2\n[default]\n"},
	{name: "key before any section", config: "region = a\n[default]\n"},
	{name: "line without delimiter", config: "[default]\nregion\n"},
	{name: "empty key", config: "[default]\n= value\n"},
	{name: "empty brackets", config: "[]\nregion = x\n"},
	{name: "nested line without equals", config: "[default]\ns3 =\n  addressing_style path\n"},
	{name: "byte order mark", config: "\ufeff[default]\nregion = x\n"},
	{name: "invalid UTF-8", config: "[default]\nregion = \xff\n"},
	{name: "credentials file with a bad line", creds: "[a]\naws_access_key_id\n"},
	{name: "messy config (valid)", config: mustRead("testdata/messy/config.valid"), creds: mustRead("testdata/messy/credentials.valid")},
	{name: "messy config with repeats", config: mustRead("testdata/messy/config"), creds: mustRead("testdata/messy/credentials")},
}

func mustRead(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// TestReadsLikeBotocore parses every compat case with botocore and with
// Load, and requires the same profiles and values, or both to fail.
func TestReadsLikeBotocore(t *testing.T) {
	python := "/usr/bin/python3"
	if err := exec.CommandContext(t.Context(), python, "-c", "import sys; sys.path.insert(0, '/usr/lib/python3/dist-packages'); import awscli.botocore").Run(); err != nil {
		t.Fatalf("this test needs the AWS CLI v2's botocore (apt-get install awscli): %v", err)
	}
	root := t.TempDir()
	var dirs []string
	for i, c := range compatCases {
		d := filepath.Join(root, strconv.Itoa(i))
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if c.config != "" {
			writeFile(t, filepath.Join(d, "config"), c.config)
		}
		if c.creds != "" {
			writeFile(t, filepath.Join(d, "credentials"), c.creds)
		}
		dirs = append(dirs, d)
	}
	cmd := exec.CommandContext(t.Context(), python, append([]string{"-c", botocoreScript}, dirs...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("botocore: %v: %s", err, stderr.String())
	}
	var results []struct {
		Profiles map[string]map[string]any `json:"profiles"`
		Error    bool                      `json:"error"`
	}
	if err := json.Unmarshal(out, &results); err != nil {
		t.Fatalf("botocore output: %v", err)
	}
	for i, c := range compatCases {
		t.Run(c.name, func(t *testing.T) {
			want := results[i]
			cfg, err := Load(Files{Config: filepath.Join(dirs[i], "config"), Credentials: filepath.Join(dirs[i], "credentials")})
			if want.Error {
				if err == nil {
					t.Fatalf("botocore refuses the files, Load accepted them: %v", profileMap(cfg))
				}
				return
			}
			if err != nil {
				t.Fatalf("botocore reads the files, Load says: %v", err)
			}
			if got := profileMap(cfg); !reflect.DeepEqual(got, want.Profiles) {
				t.Errorf("profiles differ from botocore's\n got: %v\nwant: %v", got, want.Profiles)
			}
		})
	}
}

// profileMap renders the loaded profiles in botocore's JSON shape.
func profileMap(c *Config) map[string]map[string]any {
	out := map[string]map[string]any{}
	for name, p := range c.profiles {
		keys := map[string]any{}
		for k, v := range p.keys {
			if nested, _ := parseNested(v.value); nested != nil {
				m := map[string]any{}
				for nk, nv := range nested {
					m[nk] = nv
				}
				keys[k] = m
				continue
			}
			keys[k] = v.value
		}
		out[name] = keys
	}
	return out
}

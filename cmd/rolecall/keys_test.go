//go:build unix

package main

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	_ "unsafe" // go:linkname, for the rotation's step hook in the real binary

	"github.com/godbus/dbus/v5"
	"github.com/rogpeppe/go-internal/testscript"
	gokeyring "github.com/zalando/go-keyring"

	"github.com/rolecall/rolecall/pkg/keyring"
	"github.com/rolecall/rolecall/pkg/ststest"
)

// The keychain's end-to-end tests: testdata/script/keys_*.txtar. What is
// here: a real Secret Service for the scripts (gnome-keyring-daemon on a
// private session bus), a grep of whole trees for long-term secrets, and the
// hook that kills rolecall at a chosen step of `keys rotate`.

//go:linkname keysHookStep github.com/rolecall/rolecall/pkg/keys.testHookStep
var keysHookStep func(step string)

// killAtEnv names the rotation step after which rolecall kills itself
// (SIGKILL: no deferred function, no cleanup), as a crash or `kill -9`
// would.
const killAtEnv = "ROLECALL_TEST_KILL_AT"

// installKeysHook runs in the re-executed binary before cli.Main.
func installKeysHook() {
	at := os.Getenv(killAtEnv)
	if at == "" {
		return
	}
	keysHookStep = func(step string) {
		if step == at {
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {} // the signal is on its way
		}
	}
}

// cmdNoSecretTree fails if any file under the directories holds a long-term
// secret the emulator knows (configured or made by CreateAccessKey).
//
//	nosecrettree DIR...
func cmdNoSecretTree(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("nosecrettree takes no !")
	}
	s := server(ts)
	if s == nil {
		ts.Fatalf("nosecrettree: start the emulator first")
	}
	secrets := s.LongTermSecrets()
	files := 0
	for _, dir := range args {
		err := filepath.WalkDir(ts.MkAbs(dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return err
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			files++
			for _, secret := range secrets {
				if bytes.Contains(data, []byte(secret)) {
					ts.Fatalf("%s holds a long-term secret", path)
				}
			}
			return nil
		})
		ts.Check(err)
	}
	ts.Logf("nosecrettree: %d files, no long-term secret", files)
}

// cmdNoSecretIn fails if the named file (stdout of a command: an
// environment, a credential_process answer) holds a long-term secret.
//
//	nosecretin FILE
func cmdNoSecretIn(ts *testscript.TestScript, neg bool, args []string) {
	content := ts.ReadFile(args[0])
	for _, secret := range server(ts).LongTermSecrets() {
		if strings.Contains(content, secret) {
			ts.Fatalf("%s holds a long-term secret", args[0])
		}
	}
}

// cmdSecretService starts a real Secret Service for the script: a private
// D-Bus session bus (dbus-daemon, as dbus-run-session starts it) and
// gnome-keyring-daemon on it, whose login keyring is created and unlocked
// with the test password. DBUS_SESSION_BUS_ADDRESS is set for the rest of
// the script; both daemons are killed when it ends.
//
//	secretservice start
//	secretservice lock    (locks every collection: reads need an unlock prompt nobody answers)
//	secretservice blackhole   (a bus whose Secret Service never answers; each call it
//	                           receives is noted in blackhole.calls)
func cmdSecretService(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: secretservice start|lock")
	}
	switch args[0] {
	case "start":
		// The script skips without the programs ([!have:…] skip), which
		// fails under CI. Should gnome-keyring-daemon answer --unlock and
		// never serve the login collection, a fresh bus and daemon get it
		// right: start over a few times before calling it hung.
		for attempt := 1; ; attempt++ {
			if startSecretService(ts) {
				return
			}
			if attempt == 4 {
				ts.Fatalf("hung: gnome-keyring-daemon never served an unlocked login collection (%d attempts)", attempt)
			}
			ts.Logf("gnome-keyring-daemon served no login collection; starting over")
		}
	case "blackhole":
		startBlackHole(ts)
	case "lock":
		// Lock through the Secret Service API itself, as a screen locker
		// does: org.freedesktop.Secret.Service.Lock on the default
		// collection.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "dbus-send", "--session", "--print-reply", "--dest=org.freedesktop.secrets",
			"/org/freedesktop/secrets", "org.freedesktop.Secret.Service.Lock",
			"array:objpath:/org/freedesktop/secrets/collection/login")
		cmd.Env = busEnv(ts)
		out, err := cmd.CombinedOutput()
		if err != nil {
			ts.Fatalf("lock: %v: %s", err, out)
		}
	}
}

// cmdPlantItem stores a file's content as the Secret Service item of a
// profile, as another program could (secret-tool refuses secrets past a
// few KiB): go-keyring's own Set, in the test process, on the script's bus.
//
//	plantitem PROFILE FILE
func cmdPlantItem(ts *testscript.TestScript, neg bool, args []string) {
	data := ts.ReadFile(args[1])
	ts.Check(os.Setenv("DBUS_SESSION_BUS_ADDRESS", ts.Getenv("DBUS_SESSION_BUS_ADDRESS")))
	ts.Check(gokeyring.Set(keyring.Service, args[0], data))
}

// startBus starts a private session bus of the script's own and returns
// its address and the daemon's pid (the caller ends it).
func startBus(ctx context.Context, ts *testscript.TestScript) (addr, pid string) {
	bus := exec.CommandContext(ctx, "dbus-daemon", "--config-file="+busConfig(ts), "--fork", "--nopidfile", "--print-address=1", "--print-pid=1")
	bus.Env = busEnv(ts)
	out, err := bus.Output()
	ts.Check(err)
	fields := strings.Fields(string(out))
	if len(fields) != 2 {
		ts.Fatalf("dbus-daemon printed %q", out)
	}
	return fields[0], fields[1]
}

// startSecretService starts a private bus and gnome-keyring-daemon on it,
// and reports whether the daemon's login collection came up unlocked; if
// not, the bus (and with it the daemon) is gone again.
func startSecretService(ts *testscript.TestScript) bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	addr, pid := startBus(ctx, ts)
	env := append(busEnv(ts), "DBUS_SESSION_BUS_ADDRESS="+addr)
	// --unlock reads the login keyring's password from stdin and makes the
	// keyring with it when there is none; --daemonize prints the daemon's
	// variables (GNOME_KEYRING_CONTROL). The daemon leaves with the bus.
	kr := exec.CommandContext(ctx, "gnome-keyring-daemon", "--unlock", "--components=secrets", "--daemonize")
	kr.Env = env
	kr.Stdin = strings.NewReader("rolecall-test-password")
	out, err := kr.Output()
	if err != nil {
		killPid(pid)
		ts.Fatalf("gnome-keyring-daemon: %v", err)
	}
	vars := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			vars[k] = v
		}
	}
	// It serves the login collection a moment after it answered: wait
	// until the bus says the collection is unlocked.
	for i := 0; i < 100 && ctx.Err() == nil; i++ {
		get := exec.CommandContext(ctx, "dbus-send", "--session", "--print-reply", "--reply-timeout=2000", "--dest=org.freedesktop.secrets",
			"/org/freedesktop/secrets/collection/login", "org.freedesktop.DBus.Properties.Get",
			"string:org.freedesktop.Secret.Collection", "string:Locked")
		get.Env = env
		reply, _ := get.CombinedOutput()
		if strings.Contains(string(reply), "boolean false") {
			ts.Defer(func() { killPid(pid) })
			ts.Setenv("DBUS_SESSION_BUS_ADDRESS", addr)
			for k, v := range vars {
				ts.Setenv(k, v)
			}
			return true
		}
	}
	killPid(pid)
	return false
}

// sessionBusConfig is a session bus without service activation: the
// standard session configuration would start a second gnome-keyring-daemon
// when a client asks for org.freedesktop.secrets before the first has
// claimed it (two daemons, one keyring; seen under load), and such a
// daemon outlives the bus. Here only what the script starts serves.
const sessionBusConfig = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:tmpdir=/tmp</listen>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`

// busConfig writes sessionBusConfig into the script's directory.
func busConfig(ts *testscript.TestScript) string {
	path := ts.MkAbs("session-bus.conf")
	ts.Check(os.WriteFile(path, []byte(sessionBusConfig), 0o600))
	return path
}

// startBlackHole starts a private bus on which the test process owns
// org.freedesktop.secrets and never answers a call, as a Secret Service
// stuck on an unlock prompt behaves.
func startBlackHole(ts *testscript.TestScript) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	addr, pid := startBus(ctx, ts)
	ts.Defer(func() { killPid(pid) })
	hole := &blackHole{notes: ts.MkAbs("blackhole.calls"), done: make(chan struct{})}
	conn, err := dbus.Connect(addr, dbus.WithHandler(hole))
	ts.Check(err)
	ts.Defer(func() {
		close(hole.done)
		_ = conn.Close()
	})
	reply, err := conn.RequestName("org.freedesktop.secrets", dbus.NameFlagDoNotQueue)
	ts.Check(err)
	if reply != dbus.RequestNameReplyPrimaryOwner {
		ts.Fatalf("could not own org.freedesktop.secrets: %v", reply)
	}
	ts.Setenv("DBUS_SESSION_BUS_ADDRESS", addr)
}

// blackHole is a D-Bus handler whose every method blocks until the script
// ends.
type blackHole struct {
	notes string
	done  chan struct{}
	mu    sync.Mutex
}

func (b *blackHole) LookupObject(dbus.ObjectPath) (dbus.ServerObject, bool) { return b, true }
func (b *blackHole) LookupInterface(string) (dbus.Interface, bool)          { return b, true }
func (b *blackHole) LookupMethod(name string) (dbus.Method, bool) {
	return blackMethod{b, name}, true
}

type blackMethod struct {
	b    *blackHole
	name string
}

func (m blackMethod) DecodeArguments(*dbus.Conn, string, *dbus.Message, []any) ([]any, error) {
	return nil, nil
}

func (m blackMethod) Call(...any) ([]any, error) {
	m.b.mu.Lock()
	f, err := os.OpenFile(m.b.notes, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err == nil {
		_, _ = f.WriteString(m.name + "\n")
		_ = f.Close()
	}
	m.b.mu.Unlock()
	<-m.b.done
	return nil, errors.New("the script ended")
}

func (blackMethod) NumArguments() int     { return 0 }
func (blackMethod) NumReturns() int       { return 0 }
func (blackMethod) ArgumentValue(int) any { return nil }
func (blackMethod) ReturnValue(int) any   { return nil }

func busEnv(ts *testscript.TestScript) []string {
	var env []string
	for _, k := range []string{"HOME", "PATH", "DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR", "TMPDIR"} {
		if v := ts.Getenv(k); v != "" {
			env = append(env, k+"="+v)
		}
	}
	return env
}

func killPid(pid string) {
	var n int
	for _, c := range pid {
		if c < '0' || c > '9' {
			return
		}
		n = n*10 + int(c-'0')
	}
	if n > 1 {
		_ = syscall.Kill(n, syscall.SIGTERM)
	}
}

// cmdIAM looks at and changes the emulator's IAM for the demo user.
//
//	iam keys N        the user has N access keys
//	iam delay D       STS takes a new key D after IAM made it
//	iam create VAR    make a key; its ID in $VAR
//	iam delete ID     delete a key
func cmdIAM(ts *testscript.TestScript, neg bool, args []string) {
	s := server(ts)
	if s == nil || len(args) != 2 {
		ts.Fatalf("usage: iam keys N | delay D | create VAR (after sts start)")
	}
	switch args[0] {
	case "keys":
		ids := s.AccessKeyIDs(ststest.DemoUserARN)
		if (strconv.Itoa(len(ids)) == args[1]) == neg {
			ts.Fatalf("the user has %d access keys %v, want %s", len(ids), ids, args[1])
		}
	case "delay":
		d, err := time.ParseDuration(args[1])
		ts.Check(err)
		s.SetIAMKeyDelay(d)
	case "delete":
		s.DeleteAccessKey(args[1])
	case "create":
		k, err := s.CreateAccessKey(ststest.DemoUserARN)
		ts.Check(err)
		ts.Setenv(args[1], k.AccessKeyID)
	default:
		ts.Fatalf("unknown iam command %q", args[0])
	}
}

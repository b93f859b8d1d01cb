package ststest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/rolecall/rolecall/pkg/ststest/oidc"
)

// Server is a running emulator of STS, the IAM Identity Center portal and
// the console federation endpoint.
type Server struct {
	// Immutable after construction, but accessKeys, which IAM's
	// CreateAccessKey and DeleteAccessKey change under mu.
	cfg        Config
	accessKeys map[string]accessKey
	users      map[string]*userEntry
	roles      map[string]*roleEntry
	mfa        map[string]MFADevice
	oidc       *oidc.Set
	accounts   map[string]Account
	sso        *ssoDirectory // nil without an Identity Center instance
	handler    http.Handler

	listener net.Listener
	http     *http.Server
	url      string
	done     chan struct{}
	closing  sync.Once

	mu          sync.Mutex
	clockOffset time.Duration
	stoppedAt   time.Time // StopClock's: the credential clock's wall-clock part, when stopped
	requestSkew time.Duration
	sessions    map[string]*session // by access key ID
	calls       []Call
	callsSignal chan struct{} // closed and replaced whenever the call log changes
	faults      []*activeFault
	usedTOTP    map[string]int64 // serial → last accepted time step
	ssoTokens   map[string]*ssoToken
	oidcSSO     *oidcState
	signin      signinState
	iamKeyDelay time.Duration
	// createdSecrets are the secrets of the keys CreateAccessKey made.
	createdSecrets []string
}

type accessKey struct {
	user    *userEntry
	secret  string
	created time.Time // on the credential clock
	// acceptAfter is when STS starts to accept a key IAM just made
	// (wall clock; see SetIAMKeyDelay).
	acceptAfter time.Time
}

// New builds an emulator for cfg without starting it; serve its Handler.
// Most tests want NewServer.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("ststest config: %w", err)
	}
	s := &Server{
		cfg:         cfg,
		accessKeys:  map[string]accessKey{},
		users:       map[string]*userEntry{},
		roles:       map[string]*roleEntry{},
		mfa:         map[string]MFADevice{},
		done:        make(chan struct{}),
		callsSignal: make(chan struct{}),
		sessions:    map[string]*session{},
		usedTOTP:    map[string]int64{},
		accounts:    map[string]Account{},
		ssoTokens:   map[string]*ssoToken{},
		oidcSSO:     newOIDCState(),
		signin:      newSigninState(),
	}
	for _, a := range cfg.Accounts {
		s.accounts[a.ID] = a
	}
	for _, u := range cfg.Users {
		e := newUserEntry(u)
		s.users[u.ARN] = e
		for _, k := range u.AccessKeys {
			s.accessKeys[k.AccessKeyID] = accessKey{user: e, secret: k.SecretAccessKey, created: time.Now().UTC().Truncate(time.Second)}
		}
	}
	for _, r := range cfg.Roles {
		s.roles[r.ARN] = newRoleEntry(r)
	}
	for _, d := range cfg.MFADevices {
		s.mfa[d.Serial] = d
	}
	providers := make([]oidc.ProviderConfig, len(cfg.OIDCProviders))
	for i, p := range cfg.OIDCProviders {
		providers[i] = oidc.ProviderConfig{Issuer: p.Issuer, ClientIDs: p.ClientIDs}
	}
	set, err := oidc.NewSet(providers)
	if err != nil {
		return nil, fmt.Errorf("ststest oidc providers: %w", err)
	}
	s.oidc = set
	if cfg.SSO != nil {
		s.sso = newSSODirectory(*cfg.SSO)
		for _, u := range s.sso.users {
			if u.configuredToken != "" {
				s.ssoTokens[u.configuredToken] = &ssoToken{user: u}
			}
		}
	}
	s.setFaults(cfg.Faults)
	s.handler = s.newHandler()
	return s, nil
}

// NewServer starts an emulator for cfg on 127.0.0.1 with a random port, like
// httptest.NewServer. It panics if the configuration is invalid or it cannot
// listen. Close it when done.
func NewServer(cfg Config) *Server {
	s, err := Start(cfg, "127.0.0.1:0")
	if err != nil {
		panic("ststest: " + err.Error())
	}
	return s
}

// Start starts an emulator for cfg listening on addr (host:port) and serving
// in the background until Close.
func Start(cfg Config, addr string) (*Server, error) {
	s, err := New(cfg)
	if err != nil {
		return nil, err
	}
	l, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	s.listener = l
	s.url = "http://" + l.Addr().String()
	s.http = &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.http.Serve(l) }()
	return s, nil
}

// URL is the emulator's base URL, e.g. http://127.0.0.1:40123, to be used as
// the STS endpoint (BaseEndpoint, AWS_ENDPOINT_URL_STS, --endpoint-url).
func (s *Server) URL() string { return s.url }

// Close stops the server, ending hanging and delayed calls. It is safe to
// call more than once.
func (s *Server) Close() {
	s.closing.Do(func() {
		close(s.done)
		if s.http != nil {
			_ = s.http.Close()
		}
	})
}

// Handler is the emulator's HTTP handler (STS and the /_ststest/ admin
// paths), for embedding in another server.
func (s *Server) Handler() http.Handler { return s.handler }

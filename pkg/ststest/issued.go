package ststest

// IssuedSecrets returns the secret access key and session token of every
// set of temporary credentials the server has issued, every Identity Center
// access token it knows, every client secret, refresh token, device code
// and authorization code of its OIDC service, and every console sign-in
// token, so that leak tests can assert none of them reached a log, stderr
// or an error message. Only tests should call it.
func (s *Server) IssuedSecrets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, 2*len(s.sessions))
	for _, sess := range s.sessions {
		out = append(out, sess.secretAccessKey, sess.sessionToken)
	}
	for token := range s.ssoTokens {
		out = append(out, token)
	}
	for token := range s.signin.tokens {
		out = append(out, token)
	}
	for _, c := range s.oidcSSO.clients {
		out = append(out, c.secret)
	}
	for token := range s.oidcSSO.refresh {
		out = append(out, token)
	}
	for code := range s.oidcSSO.devices {
		out = append(out, code) // the device code; the user code is for people to read
	}
	for code := range s.oidcSSO.codes {
		out = append(out, code)
	}
	return out
}

package ststest

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/arn"

	"github.com/rolecall/rolecall/pkg/ststest/oidc"
)

// Duration limits of the STS API reference: AssumeRole and
// AssumeRoleWithWebIdentity take 900 to 43200 seconds, capped by the role's
// maximum session duration; GetSessionToken takes 900 to 129600 for IAM
// users and defaults to 43200.
const (
	minDuration             = 900
	maxRoleDuration         = 43200
	defaultRoleDuration     = 3600
	maxSessionTokenDuration = 129600
	defaultSessionDuration  = 43200
	// chainedMaxDuration is the one-hour limit on role chaining. STS also
	// applies it to AssumeRole called with GetSessionToken credentials
	// (mmmorris1975/aws-runas#11 and 99designs/aws-vault#263 quote the
	// ValidationError for that case).
	chainedMaxDuration = 3600
	// rootMaxDuration caps the sessions of an account's root user: "Sessions
	// for Amazon Web Services account owners are restricted to a maximum of
	// 3600 seconds (one hour). If the duration is longer than one hour, the
	// session for Amazon Web Services account owners defaults to one hour."
	// (GetSessionToken API reference, DurationSeconds; GetFederationToken
	// says the same).
	rootMaxDuration = 3600
)

// Messages STS sends, quoted from real responses.
const (
	// 99designs/aws-vault#263, aws/eks-anywhere#9485.
	msgChainLimit = "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."
	// kreuzwerker/awsu#27, ruimarinho/gsts#13.
	msgMaxSession = "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
	// aws/aws-cli#6325 and rusoto's STS integration test: a serial that is
	// not the caller's MFA device.
	msgMFAUnknownDevice = "MultiFactorAuthentication failed, unable to validate MFA code.  Please verify your MFA serial number is valid and associated with this user."
	// aws/aws-cli#2279: a wrong code, and also a code already used, which
	// STS refuses as RFC 6238 §5.2 asks (the issue shows the error from
	// assume-role run in a loop with one code).
	msgMFAInvalidCode = "MultiFactorAuthentication failed with invalid MFA one time pass code. "
	// aws/aws-sdk-net#1704, aws/aws-sdk-php#1876.
	msgSessionTokenWithSession = "Cannot call GetSessionToken with session credentials"
	// fwdcloudsec/granted#151, hashicorp/vault#4108.
	msgFederationTokenWithSession = "Cannot call GetFederationToken with session credentials"
	// kubeflow/testing#961, Netflix/security_monkey#1026.
	msgRootAssumeRole = "Roles may not be assumed by root accounts."
	// The session tag errors were recorded against AWS in localstack's
	// tests/aws/services/sts/test_sts.snapshot.json.
	msgDuplicateTags       = "Duplicate tag keys found. Please note that Tag keys are case insensitive."
	msgTransitiveNotInTags = "The specified transitive tag key must be included in the requested tags."
	msgTransitiveConflict  = "One of the specified transitive tag keys can't be set because it conflicts with a transitive tag key from the calling session."
	// terraform-aws-modules/terraform-aws-iam#659,
	// aws-actions/configure-aws-credentials#690.
	msgWebIdentityDenied = "Not authorized to perform sts:AssumeRoleWithWebIdentity"
)

// roleRequest is what AssumeRole and AssumeRoleWithWebIdentity share: the
// role, the session name and duration, and the session policies.
type roleRequest struct {
	roleARN       string
	sessionName   string
	duration      int
	durationSet   bool
	compactPolicy string
	policySet     bool
	policyARNs    []string
	minTokenSize  int
}

// sessionTokenSizing plans the token of a role session carrying req's
// session policies and the given tags.
func (req roleRequest) sessionTokenSizing(tags []tag) (tokenSizing, *apiError) {
	hasPacked := req.policySet || len(req.policyARNs) > 0 || len(tags) > 0
	packed := 0
	if hasPacked {
		packed = packedSessionData(req.compactPolicy, req.policyARNs, tags)
	}
	return sizeSessionToken(packed, hasPacked, req.minTokenSize)
}

// checkRoleRequest validates the parameters common to both role actions.
func checkRoleRequest(v *violations, params url.Values) (roleRequest, *apiError) {
	var req roleRequest
	roleARN := optional(params, "RoleArn")
	v.checkString("roleArn", roleARN, true, 20, 2048, patternARN, reARN, false)
	sessionName := optional(params, "RoleSessionName")
	v.checkString("roleSessionName", sessionName, true, 2, 64, patternSessionName, reSessionName, false)
	duration := optional(params, "DurationSeconds")
	req.duration = v.checkInt("durationSeconds", duration, minDuration, maxRoleDuration, defaultRoleDuration)
	req.durationSet = duration != nil
	policy := optional(params, "Policy")
	compact, perr := checkSessionPolicy(v, policy)
	req.compactPolicy, req.policySet = compact, policy != nil
	req.minTokenSize = checkMinTokenSize(v, params)
	req.policyARNs = queryList(params, "PolicyArns", "arn")
	if len(req.policyARNs) > 10 {
		v.add(describeList("PolicyDescriptorType(arn=%s)", req.policyARNs), "policyArns", "must have length less than or equal to 10")
	}
	for i := range req.policyARNs {
		v.checkString(fmt.Sprintf("policyArns.%d.member.arn", i+1), &req.policyARNs[i], false, 20, 2048, patternARN, reARN, false)
	}
	if roleARN != nil {
		req.roleARN = *roleARN
	}
	if sessionName != nil {
		req.sessionName = *sessionName
	}
	return req, perr
}

// checkMinTokenSize reads MinimumSessionTokenSize, which may not exceed the
// largest token STS issues.
func checkMinTokenSize(v *violations, params url.Values) int {
	return v.checkInt("minimumSessionTokenSize", optional(params, "MinimumSessionTokenSize"), 0, maxSessionTokenBytes, 0)
}

// describeList shows a list parameter as STS's (Java) messages do.
func describeList(format string, items []string) string {
	parts := make([]string, len(items))
	for i, it := range items {
		parts[i] = fmt.Sprintf(format, it)
	}
	return "'[" + strings.Join(parts, ", ") + "]'"
}

// checkRoleARN rejects a RoleArn that passes the model's constraints but is
// no ARN, with STS's message ("nothing-valid-in-here is invalid", recorded
// against AWS in localstack's test_sts.snapshot.json).
func checkRoleARN(s string) *apiError {
	a, err := arn.Parse(s)
	if err != nil || a.Partition == "" || a.Service == "" || a.Resource == "" {
		return errValidation(s + " is invalid")
	}
	return nil
}

// checkTags validates session tags and transitive tag keys, model
// constraints into v and STS's semantic checks as the returned error.
func checkTags(v *violations, tags []tag, transitive []string, inherited map[string]tag) *apiError {
	if len(tags) > 50 {
		items := make([]string, len(tags))
		for i, t := range tags {
			items[i] = t.Key + ", Value=" + t.Value
		}
		v.add(describeList("Tag(Key=%s)", items), "tags", "must have length less than or equal to 50")
	}
	for i := range tags {
		v.checkString(fmt.Sprintf("tags.%d.member.key", i+1), &tags[i].Key, true, 1, 128, patternTagKey, reTagKey, false)
		v.checkString(fmt.Sprintf("tags.%d.member.value", i+1), &tags[i].Value, true, 0, 256, patternTagValue, reTagValue, false)
	}
	if len(transitive) > 50 {
		v.add(describeList("%s", transitive), "transitiveTagKeys", "must have length less than or equal to 50")
	}
	for i := range transitive {
		v.checkString(fmt.Sprintf("transitiveTagKeys.%d.member", i+1), &transitive[i], false, 1, 128, patternTagKey, reTagKey, false)
	}
	if len(*v) > 0 {
		return nil
	}
	keys := map[string]bool{}
	for _, t := range tags {
		k := strings.ToLower(t.Key)
		if keys[k] {
			return errInvalidParameterValue(msgDuplicateTags)
		}
		keys[k] = true
		if _, ok := inherited[k]; ok {
			return errInvalidParameterValue(msgTransitiveConflict)
		}
	}
	for _, k := range transitive {
		if !keys[strings.ToLower(k)] {
			return errInvalidParameterValue(msgTransitiveNotInTags)
		}
	}
	return nil
}

// checkMFA verifies an MFA serial and code for the caller, and uses the code
// up: a code is accepted once per device.
func (s *Server) checkMFA(p *principal, serial, code string, now time.Time) *apiError {
	d, ok := s.mfa[serial]
	if !ok || p.user == nil || p.isRoleSession() || d.User != p.user.arn {
		return errAccessDenied(msgMFAUnknownDevice)
	}
	step, ok := matchTOTP(d.Secret, code, now)
	if last, used := s.usedTOTP[serial]; !ok || (used && step <= last) {
		return errAccessDenied(msgMFAInvalidCode)
	}
	s.usedTOTP[serial] = step
	return nil
}

// trusts reports whether the role's trust policy names the caller.
func trusts(r *roleEntry, p *principal) bool {
	for _, t := range r.Trust.Principals {
		switch {
		case t == p.arn:
			return true
		case p.user != nil && t == p.user.arn:
			return true
		case p.isRoleSession() && t == p.session.role.ARN:
			return true
		case t == p.account || t == "arn:aws:iam::"+p.account+":root":
			return true
		}
	}
	return false
}

// issue stores a new session with a token of z's length and fills the XML
// credentials and token size.
func (s *Server) issue(sess *session, now time.Time, seconds int, z tokenSizing) (xmlCredentials, xmlTokenSize) {
	sess.accessKeyID, sess.secretAccessKey, sess.sessionToken = newTemporaryCredentials(z.length)
	// STS reports expirations to the second; the emulator enforces what it
	// reports.
	sess.expiration = now.Add(time.Duration(seconds) * time.Second).Truncate(time.Second)
	s.sessions[sess.accessKeyID] = sess
	creds := xmlCredentials{
		AccessKeyID:     sess.accessKeyID,
		SecretAccessKey: sess.secretAccessKey,
		SessionToken:    sess.sessionToken,
		Expiration:      stsTime(sess.expiration),
	}
	return creds, xmlTokenSize{
		SessionTokenSize:        len(sess.sessionToken),
		SessionTokenUtilization: percent(len(sess.sessionToken), maxSessionTokenBytes),
	}
}

func (s *Server) assumeRole(p *principal, params url.Values, requestID string) answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.nowLocked()
	fail := func(e *apiError) answer { return failure(e, requestID, p.arn) }

	var v violations
	req, policyErr := checkRoleRequest(&v, params)
	externalID := optional(params, "ExternalId")
	v.checkString("externalId", externalID, false, 2, 1224, patternExternalID, reExternalID, false)
	serial := optional(params, "SerialNumber")
	v.checkString("serialNumber", serial, false, 9, 256, patternSerial, reSerial, false)
	code := optional(params, "TokenCode")
	v.checkString("tokenCode", code, false, 6, 6, patternTokenCode, reTokenCode, false)
	sourceIdentity := optional(params, "SourceIdentity")
	v.checkString("sourceIdentity", sourceIdentity, false, 2, 64, patternSessionName, reSessionName, false)

	var inherited map[string]tag
	if p.session != nil {
		inherited = p.session.transitiveTags
	}
	tags := queryTags(params)
	transitive := queryList(params, "TransitiveTagKeys", "")
	tagErr := checkTags(&v, tags, transitive, inherited)
	if e := v.err(); e != nil {
		return fail(e)
	}
	for _, e := range []*apiError{policyErr, tagErr, checkRoleARN(req.roleARN)} {
		if e != nil {
			return fail(e)
		}
	}

	if p.isRoot() {
		return fail(errAccessDenied(msgRootAssumeRole))
	}
	if p.isFederatedUser() {
		// GetFederationToken credentials may call no STS action but
		// GetCallerIdentity (the GetFederationToken API reference,
		// Permissions).
		return fail(errAccessDenied(fmt.Sprintf(
			"User: %s is not authorized to perform: sts:AssumeRole on resource: %s", p.arn, req.roleARN)))
	}
	mfa := p.session != nil && p.session.mfa
	if serial != nil && code != nil {
		if e := s.checkMFA(p, *serial, *code, now); e != nil {
			return fail(e)
		}
		mfa = true
	}

	role := s.roles[req.roleARN]
	if role == nil || !trusts(role, p) ||
		(role.Trust.RequireMFA && !mfa) ||
		(role.Trust.ExternalID != "" && (externalID == nil || *externalID != role.Trust.ExternalID)) {
		return fail(errAccessDenied(fmt.Sprintf(
			"User: %s is not authorized to perform: sts:AssumeRole on resource: %s", p.arn, req.roleARN)))
	}
	if p.session != nil && req.duration > chainedMaxDuration {
		return fail(errValidation(msgChainLimit))
	}
	if req.duration > role.maxSecs {
		return fail(errValidation(msgMaxSession))
	}

	nextTransitive := map[string]tag{}
	for k, t := range inherited {
		nextTransitive[k] = t
	}
	for _, k := range transitive {
		for _, t := range tags {
			if strings.EqualFold(t.Key, k) {
				nextTransitive[strings.ToLower(k)] = t
			}
		}
	}
	all := append([]tag(nil), tags...)
	for _, t := range inherited {
		all = append(all, t)
	}
	sizing, sizeErr := req.sessionTokenSizing(all)
	if sizeErr != nil {
		return fail(sizeErr)
	}

	sess := &session{
		arn:            assumedRoleARN(role, req.sessionName),
		userID:         role.id + ":" + req.sessionName,
		account:        role.account,
		role:           role,
		mfa:            mfa,
		transitiveTags: nextTransitive,
		chained:        p.session != nil,
	}
	if p.session != nil {
		sess.sourceIdentity = p.session.sourceIdentity
	}
	if sourceIdentity != nil {
		sess.sourceIdentity = *sourceIdentity
	}

	var out xmlAssumeRoleResponse
	out.Xmlns = stsNamespace
	out.Result.Credentials, out.Result.xmlTokenSize = s.issue(sess, now, req.duration, sizing)
	out.Result.AssumedRoleUser = xmlAssumedRoleUser{Arn: sess.arn, AssumedRoleID: sess.userID}
	out.Result.SourceIdentity = sess.sourceIdentity
	out.Result.PackedPolicySize = sizing.packedPolicySize
	out.ResponseMetadata.RequestID = requestID
	return answer{status: http.StatusOK, body: marshalXML(out), caller: p.arn}
}

func (s *Server) getSessionToken(p *principal, params url.Values, requestID string) answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.nowLocked()
	fail := func(e *apiError) answer { return failure(e, requestID, p.arn) }

	if p.session != nil {
		return fail(errAccessDenied(msgSessionTokenWithSession))
	}
	var v violations
	duration := v.checkInt("durationSeconds", optional(params, "DurationSeconds"), minDuration, maxSessionTokenDuration, defaultSessionDuration)
	serial := optional(params, "SerialNumber")
	v.checkString("serialNumber", serial, false, 9, 256, patternSerial, reSerial, false)
	code := optional(params, "TokenCode")
	v.checkString("tokenCode", code, false, 6, 6, patternTokenCode, reTokenCode, false)
	minTokenSize := checkMinTokenSize(&v, params)
	if e := v.err(); e != nil {
		return fail(e)
	}
	if p.isRoot() {
		duration = min(duration, rootMaxDuration)
	}
	sizing, _ := sizeSessionToken(0, false, minTokenSize) // within the maximum: checked above
	mfa := false
	if serial != nil && code != nil {
		if e := s.checkMFA(p, *serial, *code, now); e != nil {
			return fail(e)
		}
		mfa = true
	}

	sess := &session{arn: p.user.arn, userID: p.user.id, account: p.user.account, user: p.user, mfa: mfa}
	var out xmlGetSessionTokenResponse
	out.Xmlns = stsNamespace
	out.Result.Credentials, out.Result.xmlTokenSize = s.issue(sess, now, duration, sizing)
	out.ResponseMetadata.RequestID = requestID
	return answer{status: http.StatusOK, body: marshalXML(out), caller: p.arn}
}

func (s *Server) getCallerIdentity(p *principal, _ url.Values, requestID string) answer {
	var out xmlGetCallerIdentityResponse
	out.Xmlns = stsNamespace
	out.Result.Arn = p.arn
	out.Result.UserID = p.userID
	out.Result.Account = p.account
	out.ResponseMetadata.RequestID = requestID
	return answer{status: http.StatusOK, body: marshalXML(out), caller: p.arn}
}

// webIdentityStatus is the HTTP status STS gives each token failure, from the
// AssumeRoleWithWebIdentity API reference's Errors section.
var webIdentityStatus = map[string]int{
	"InvalidIdentityToken":  http.StatusBadRequest,
	"ExpiredTokenException": http.StatusBadRequest,
	"IDPRejectedClaim":      http.StatusForbidden,
	"IDPCommunicationError": http.StatusBadRequest,
}

func (s *Server) assumeRoleWithWebIdentity(params url.Values, requestID string) answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.nowLocked()
	fail := func(e *apiError) answer { return failure(e, requestID, "") }

	var v violations
	req, policyErr := checkRoleRequest(&v, params)
	token := optional(params, "WebIdentityToken")
	v.checkString("webIdentityToken", token, true, 4, 20000, "", nil, true)
	v.checkString("providerId", optional(params, "ProviderId"), false, 4, 2048, "", nil, false)
	if e := v.err(); e != nil {
		return fail(e)
	}
	for _, e := range []*apiError{policyErr, checkRoleARN(req.roleARN)} {
		if e != nil {
			return fail(e)
		}
	}

	claims, tokenErr := s.oidc.Verify(*token, now)
	if tokenErr != nil {
		status, ok := webIdentityStatus[tokenErr.Code]
		if !ok {
			status = http.StatusBadRequest
		}
		return fail(&apiError{status, tokenErr.Code, tokenErr.Message})
	}
	role := s.roles[req.roleARN]
	audience, ok := webIdentityTrusted(role, claims)
	if !ok {
		return fail(errAccessDenied(msgWebIdentityDenied))
	}
	if req.duration > role.maxSecs {
		return fail(errValidation(msgMaxSession))
	}
	sizing, sizeErr := req.sessionTokenSizing(nil)
	if sizeErr != nil {
		return fail(sizeErr)
	}

	sess := &session{
		arn:            assumedRoleARN(role, req.sessionName),
		userID:         role.id + ":" + req.sessionName,
		account:        role.account,
		role:           role,
		transitiveTags: map[string]tag{},
	}
	// An identity provider sets the source identity with this claim
	// (IAM User Guide, "Monitor and control actions taken with assumed
	// roles").
	if si, ok := claims.Raw["https://aws.amazon.com/source_identity"].(string); ok {
		sess.sourceIdentity = si
	}

	var out xmlAssumeRoleWithWebIdentityResponse
	out.Xmlns = stsNamespace
	out.Result.Credentials, out.Result.xmlTokenSize = s.issue(sess, now, req.duration, sizing)
	out.Result.AssumedRoleUser = xmlAssumedRoleUser{Arn: sess.arn, AssumedRoleID: sess.userID}
	out.Result.SubjectFromWebIdentityToken = claims.Subject
	out.Result.Audience = audience
	// For OIDC, STS names the IAM identity provider by its ARN, e.g.
	// "arn:aws:iam::012345678901:oidc-provider/spire-oidc.example.org"
	// (spiffe/spiffe.io#110 shows a real response).
	out.Result.Provider = "arn:aws:iam::" + role.account + ":oidc-provider/" + stripScheme(claims.Issuer)
	out.Result.SourceIdentity = sess.sourceIdentity
	out.Result.PackedPolicySize = sizing.packedPolicySize
	out.ResponseMetadata.RequestID = requestID
	return answer{status: http.StatusOK, body: marshalXML(out)}
}

// webIdentityTrusted checks a role's federated trust against verified token
// claims: the issuer, one of the audiences, and sub matching a StringLike
// pattern. It returns the audience that matched.
func webIdentityTrusted(r *roleEntry, c oidc.Claims) (string, bool) {
	if r == nil || r.Trust.WebIdentity == nil || r.Trust.WebIdentity.Issuer != c.Issuer {
		return "", false
	}
	w := r.Trust.WebIdentity
	audience := ""
	for _, a := range c.Audience {
		for _, want := range w.Audiences {
			if a == want && audience == "" {
				audience = a
			}
		}
	}
	if audience == "" {
		return "", false
	}
	for _, pattern := range w.SubjectLike {
		if oidc.MatchLike(pattern, c.Subject) {
			return audience, true
		}
	}
	return "", false
}

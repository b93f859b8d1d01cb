package ststest

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
)

// GetFederationToken's limits, from its API reference: Name is 2 to 32 of
// [\w+=,.@-]; DurationSeconds 900 to 129600, 43200 by default, and at most
// 3600 for an account's root user; up to 10 policy ARNs and 50 tags.
const (
	federatedNameMin        = 2
	federatedNameMax        = 32
	maxFederationDuration   = 129600
	defaultFederationPeriod = 43200
)

type xmlFederatedUser struct {
	FederatedUserID string `xml:"FederatedUserId"`
	Arn             string `xml:"Arn"`
}

type xmlGetFederationTokenResponse struct {
	XMLName xml.Name `xml:"GetFederationTokenResponse"`
	Xmlns   string   `xml:"xmlns,attr"`
	Result  struct {
		Credentials      xmlCredentials   `xml:"Credentials"`
		FederatedUser    xmlFederatedUser `xml:"FederatedUser"`
		PackedPolicySize *int             `xml:"PackedPolicySize,omitempty"`
		xmlTokenSize
	} `xml:"GetFederationTokenResult"`
	ResponseMetadata xmlResponseMetadata `xml:"ResponseMetadata"`
}

// federatedUserARN is the ARN STS gives a federated user.
func federatedUserARN(account, name string) string {
	return "arn:aws:sts::" + account + ":federated-user/" + name
}

// getFederationToken issues a federated user's credentials. Only an IAM
// user's (or the root user's) long-term keys may call it. The session policy
// and policy ARNs are validated and recorded, never applied: without one the
// real session has no permissions, which the emulator does not model.
func (s *Server) getFederationToken(p *principal, params url.Values, requestID string) answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.nowLocked()
	fail := func(e *apiError) answer { return failure(e, requestID, p.arn) }

	if p.session != nil {
		return fail(errAccessDenied(msgFederationTokenWithSession))
	}
	var v violations
	name := optional(params, "Name")
	v.checkString("name", name, true, federatedNameMin, federatedNameMax, patternSessionName, reSessionName, false)
	duration := v.checkInt("durationSeconds", optional(params, "DurationSeconds"), minDuration, maxFederationDuration, defaultFederationPeriod)
	policy := optional(params, "Policy")
	compact, policyErr := checkSessionPolicy(&v, policy)
	policyARNs := queryList(params, "PolicyArns", "arn")
	if len(policyARNs) > 10 {
		v.add(describeList("PolicyDescriptorType(arn=%s)", policyARNs), "policyArns", "must have length less than or equal to 10")
	}
	for i := range policyARNs {
		v.checkString(fmt.Sprintf("policyArns.%d.member.arn", i+1), &policyARNs[i], false, 20, 2048, patternARN, reARN, false)
	}
	tags := queryTags(params)
	tagErr := checkTags(&v, tags, nil, nil)
	minTokenSize := checkMinTokenSize(&v, params)
	if e := v.err(); e != nil {
		return fail(e)
	}
	for _, e := range []*apiError{policyErr, tagErr} {
		if e != nil {
			return fail(e)
		}
	}
	if p.isRoot() {
		duration = min(duration, rootMaxDuration)
	}
	hasPacked := policy != nil || len(policyARNs) > 0 || len(tags) > 0
	packed := 0
	if hasPacked {
		packed = packedSessionData(compact, policyARNs, tags)
	}
	sizing, sizeErr := sizeSessionToken(packed, hasPacked, minTokenSize)
	if sizeErr != nil {
		return fail(sizeErr)
	}

	sess := &session{
		arn:       federatedUserARN(p.account, *name),
		userID:    p.account + ":" + *name,
		account:   p.account,
		user:      p.user,
		federated: true,
	}
	var out xmlGetFederationTokenResponse
	out.Xmlns = stsNamespace
	out.Result.Credentials, out.Result.xmlTokenSize = s.issue(sess, now, duration, sizing)
	out.Result.FederatedUser = xmlFederatedUser{FederatedUserID: sess.userID, Arn: sess.arn}
	out.Result.PackedPolicySize = sizing.packedPolicySize
	out.ResponseMetadata.RequestID = requestID
	return answer{status: http.StatusOK, body: marshalXML(out), caller: p.arn}
}

package ststest

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// answer is what an action produced: a body and a status, and what the call
// log keeps of it.
type answer struct {
	status int
	body   []byte
	caller string
	err    string
}

// serveSTS answers an STS Query-protocol request.
func (s *Server) serveSTS(w http.ResponseWriter, r *http.Request) {
	requestID := newRequestID()
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return
	}
	params, perr := requestParams(r, body)
	action := params.Get("Action")
	call := Call{Time: s.Now(), Action: action, Params: logParams(params)}

	if fault := s.takeFault(action); fault != nil {
		call.Fault = fault.Kind
		switch fault.Kind {
		case FaultLatency:
			if !s.wait(r, fault.Latency) {
				s.record(call)
				abortConnection()
			}
		case FaultInternal:
			e := &apiError{http.StatusInternalServerError, "InternalFailure",
				"The request processing has failed because of an unknown error, exception or failure."}
			call.Error = e.Code
			s.record(call)
			s.write(w, requestID, e.Status, errorBody(e, requestID))
			return
		case FaultThrottle:
			e := &apiError{http.StatusBadRequest, "Throttling", "Rate exceeded"}
			call.Error = e.Code
			s.record(call)
			s.write(w, requestID, e.Status, errorBody(e, requestID))
			return
		case FaultDrop:
			s.record(call)
			dropConnection(w)
			return
		case FaultHang:
			s.record(call)
			s.wait(r, -1)
			abortConnection()
		}
	}

	var a answer
	if perr != nil {
		a = failure(perr, requestID, "")
	} else {
		a = s.dispatch(r, body, params, requestID)
	}
	call.Caller, call.Error = a.caller, a.err
	s.record(call)
	if call.Fault == FaultTruncate {
		s.writeTruncated(w, requestID, a.status, a.body)
		return
	}
	s.write(w, requestID, a.status, a.body)
}

// requestParams reads the Query-protocol parameters: the form body of a POST
// and the query string.
func requestParams(r *http.Request, body []byte) (url.Values, *apiError) {
	params, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return url.Values{}, &apiError{http.StatusBadRequest, "MalformedQueryString", "The query string is malformed"}
	}
	if r.Method == http.MethodPost {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return params, &apiError{http.StatusBadRequest, "MalformedQueryString", "The request body is not a valid form"}
		}
		for k, vs := range form {
			params[k] = append(params[k], vs...)
		}
	}
	return params, nil
}

func failure(e *apiError, requestID, caller string) answer {
	return answer{status: e.Status, body: errorBody(e, requestID), caller: caller, err: e.Code}
}

// errInvalidAction is STS's answer to an action it does not have.
func errInvalidAction(action string) *apiError {
	return &apiError{http.StatusBadRequest, "InvalidAction",
		fmt.Sprintf("Could not find operation %s for version %s", action, stsVersion)}
}

// dispatch routes a request to its action.
func (s *Server) dispatch(r *http.Request, body []byte, params url.Values, requestID string) answer {
	action := params.Get("Action")
	if v := params.Get("Version"); v != stsVersion {
		return failure(&apiError{http.StatusBadRequest, "InvalidAction",
			fmt.Sprintf("Could not find operation %s for version %s", action, v)}, requestID, "")
	}
	handlers := map[string]func(*principal, url.Values, string) answer{
		"AssumeRole":        s.assumeRole,
		"GetSessionToken":   s.getSessionToken,
		"GetCallerIdentity": s.getCallerIdentity,
	}
	if action == "AssumeRoleWithWebIdentity" {
		// Called with a token from the identity provider, not with AWS
		// credentials: STS does not need it signed.
		return s.assumeRoleWithWebIdentity(params, requestID)
	}
	h, ok := handlers[action]
	if !ok {
		return failure(errInvalidAction(action), requestID, "")
	}
	s.mu.Lock()
	p, serr := s.authenticate(r, body, time.Now().Add(s.requestSkew), s.nowLocked())
	s.mu.Unlock()
	if serr != nil {
		return failure(serr, requestID, "")
	}
	return h(p, params, requestID)
}

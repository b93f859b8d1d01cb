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
	header http.Header // set on the answer besides the usual headers
	caller string
	err    string
}

// wireFormat is how a service shapes its answers: STS's XML (stsFormat) or
// the SSO portal's JSON (portalFormat).
type wireFormat interface {
	contentType() string
	// errorAnswer renders an error as the service sends it.
	errorAnswer(e *apiError, requestID, caller string) answer
	// faultError is the service's own error for an internal, throttle or
	// IDP communication fault.
	faultError(kind string) *apiError
}

// stsFormat is the AWS Query protocol's answers: XML in STS's namespace.
type stsFormat struct{}

func (stsFormat) contentType() string { return "text/xml" }

func (stsFormat) errorAnswer(e *apiError, requestID, caller string) answer {
	return failure(e, requestID, caller)
}

func (stsFormat) faultError(kind string) *apiError {
	switch kind {
	case FaultThrottle:
		return &apiError{http.StatusBadRequest, "Throttling", "Rate exceeded"}
	case FaultIDPCommunication:
		return errIDPCommunication
	default:
		return &apiError{http.StatusInternalServerError, "InternalFailure",
			"The request processing has failed because of an unknown error, exception or failure."}
	}
}

// serveSTS answers an STS Query-protocol request.
func (s *Server) serveSTS(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return
	}
	params, perr := requestParams(r, body)
	call := Call{Service: ServiceSTS, Action: params.Get("Action"), Params: logParams(params)}
	if cluster := r.Header.Get(clusterIDHeader); cluster != "" {
		call.Params[clusterIDHeader] = cluster
	}
	if perr == nil && params.Get("Version") == iamVersion {
		call.Service = ServiceIAM
		s.serveCall(w, r, iamFormat{}, call, func(requestID string) answer {
			return s.dispatchIAM(r, body, params, requestID)
		})
		return
	}
	s.serveCall(w, r, stsFormat{}, call, func(requestID string) answer {
		if perr != nil {
			return failure(perr, requestID, "")
		}
		return s.dispatch(r, body, params, requestID)
	})
}

// serveCall applies the faults that match the call, has process answer it
// unless a fault answered first, records the call and writes the answer.
func (s *Server) serveCall(w http.ResponseWriter, r *http.Request, f wireFormat, call Call, process func(requestID string) answer) {
	requestID := newRequestID()
	call.Time = s.Now()
	if fault := s.takeFault(call.Action); fault != nil {
		call.Fault = fault.Kind
		switch fault.Kind {
		case FaultLatency:
			if !s.wait(r, fault.Latency) {
				s.record(call)
				abortConnection()
			}
		case FaultInternal, FaultThrottle, FaultIDPCommunication:
			a := f.errorAnswer(f.faultError(fault.Kind), requestID, "")
			call.Error = a.err
			s.record(call)
			s.write(w, f, requestID, a)
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

	a := process(requestID)
	call.Caller, call.Error = a.caller, a.err
	s.record(call)
	if call.Fault == FaultTruncate {
		s.writeTruncated(w, f, requestID, a)
		return
	}
	s.write(w, f, requestID, a)
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
		"AssumeRole":         s.assumeRole,
		"GetSessionToken":    s.getSessionToken,
		"GetCallerIdentity":  s.getCallerIdentity,
		"GetFederationToken": s.getFederationToken,
	}
	if action == actionWebIdentity {
		// Called with a token from the identity provider, not with AWS
		// credentials: STS does not need it signed.
		return s.assumeRoleWithWebIdentity(params, requestID)
	}
	h, ok := handlers[action]
	if !ok {
		return failure(errInvalidAction(action), requestID, "")
	}
	s.mu.Lock()
	p, serr := s.authenticate(r, body, ServiceSTS, time.Now().Add(s.requestSkew), s.nowLocked())
	s.mu.Unlock()
	if serr != nil {
		return failure(serr, requestID, "")
	}
	return h(p, params, requestID)
}

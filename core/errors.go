package core

import "net/http"

// Kind classifies every refusal the issuer can answer with. Kinds, not error
// chains, carry the classification: errors.Is and errors.As cannot see
// through interpreted error values under yaegi, so the core never depends on
// them for control flow.
type Kind int

const (
	// The zero Kind is no kind. (Not "iota + 1": under yaegi v0.16.1
	// constants declared that way compare unequal to themselves.)
	_ Kind = iota
	// KindNoBearer: no Authorization header, or not the Bearer scheme.
	KindNoBearer
	// KindInvalidToken: the bearer token failed a check.
	KindInvalidToken
	// KindForbidden: a valid token that no role rule admits.
	KindForbidden
	// KindMethodNotAllowed: a method the route does not serve.
	KindMethodNotAllowed
	// KindSTSRejected: STS answered with an error document or status.
	KindSTSRejected
	// KindSTSBadAnswer: STS answered with something that is not an STS answer,
	// or could not be reached.
	KindSTSBadAnswer
	// KindSTSTimeout: STS did not answer within the timeout.
	KindSTSTimeout
	// KindGatewayCredentials: the gateway cannot sign its STS call.
	KindGatewayCredentials
	// KindKeysUnavailable: no key source could be read to verify tokens.
	KindKeysUnavailable
)

// Error is the core's one error type. Detail is safe to show to the caller:
// it never holds a token, a secret key or a session token.
type Error struct {
	Kind   Kind
	Detail string
	// Err is the cause, for logs; it is never written to the caller.
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Detail + ": " + e.Err.Error()
	}
	return e.Detail
}

func (e *Error) Unwrap() error { return e.Err }

// asError finds the *Error in err's chain by plain type assertions, which
// behave the same compiled and interpreted.
func asError(err error) (*Error, bool) {
	for depth := 0; err != nil && depth < 16; depth++ {
		if e, ok := err.(*Error); ok {
			return e, true
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return nil, false
		}
		err = u.Unwrap()
	}
	return nil, false
}

// Status maps a Kind to its HTTP status: the one place that does so.
func (k Kind) Status() int {
	switch k {
	case KindNoBearer, KindInvalidToken:
		return http.StatusUnauthorized
	case KindForbidden:
		return http.StatusForbidden
	case KindMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case KindSTSRejected, KindSTSBadAnswer:
		return http.StatusBadGateway
	case KindSTSTimeout:
		return http.StatusGatewayTimeout
	case KindGatewayCredentials, KindKeysUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// Outcome is the short label used in audit lines and metrics.
func (k Kind) Outcome() string {
	switch k {
	case KindNoBearer:
		return "no_bearer"
	case KindInvalidToken:
		return "invalid_token"
	case KindForbidden:
		return "forbidden"
	case KindMethodNotAllowed:
		return "method_not_allowed"
	case KindSTSRejected:
		return "sts_rejected"
	case KindSTSBadAnswer:
		return "sts_bad_answer"
	case KindSTSTimeout:
		return "sts_timeout"
	case KindGatewayCredentials:
		return "gateway_credentials"
	case KindKeysUnavailable:
		return "keys_unavailable"
	}
	return "internal_error"
}

// classify turns any error into an *Error, treating an unknown one as a bad
// STS answer so that the caller never sees an unexplained 500.
func classify(err error) *Error {
	if e, ok := asError(err); ok {
		return e
	}
	return &Error{Kind: KindSTSBadAnswer, Detail: "STS call failed", Err: err}
}

// ConfigError names the option that is wrong, as the host writes it.
type ConfigError struct {
	Option string
	Reason string
}

func (e *ConfigError) Error() string { return e.Option + ": " + e.Reason }

// configError is a ConfigError in the Caddyfile's spelling; reason may name
// options in braces, {jwks_file}, which spell writes out.
func configError(option, reason string) error {
	return &ConfigError{Option: option, Reason: reason}
}

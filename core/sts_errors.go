package core

import "time"

// The STS client builds its refusals with these constructors, so that every
// build answers with byte-for-byte the same problem documents.

// rejectedBySTS is an STS error answer (an error document or status).
func rejectedBySTS(code, message string, cause error) *Error {
	detail := "STS refused the request"
	if code != "" {
		detail += ": " + code
	}
	if message != "" {
		detail += ": " + message
	}
	return &Error{Kind: KindSTSRejected, Detail: detail, Err: cause}
}

// badSTSAnswer is an answer that is not an STS document.
func badSTSAnswer(cause error) *Error {
	return &Error{Kind: KindSTSBadAnswer, Detail: "STS answered with something that is not an STS answer", Err: cause}
}

// stsUnreachable is an STS that could not be connected to.
func stsUnreachable(cause error) *Error {
	return &Error{Kind: KindSTSBadAnswer, Detail: "STS is unreachable", Err: cause}
}

// stsTimedOut is an STS that did not answer within the configured timeout.
func stsTimedOut(timeout time.Duration, cause error) *Error {
	return &Error{Kind: KindSTSTimeout, Detail: "STS did not answer within " + timeout.String(), Err: cause}
}

// GatewayCredentialsUnavailable is the gateway's own keys missing or unreadable.
func GatewayCredentialsUnavailable(cause error) *Error {
	return &Error{Kind: KindGatewayCredentials, Detail: "gateway credentials are unavailable", Err: cause}
}

// roleSessionDefault is the MaxSessionDuration of a role that sets none, on
// AWS and on Ceph RGW alike.
const roleSessionDefault = time.Hour

// withDurationHint explains a refusal that gives no reason when a duration
// over an hour was asked for. Ceph RGW answers a duration over the role's
// MaxSessionDuration with a bare InvalidArgument and an empty message, so
// without the hint the operator cannot tell what to change. AWS says why in
// its message, which is then left as it is.
func withDurationHint(err error, d time.Duration) error {
	e, ok := err.(*Error)
	if !ok || e.Kind != KindSTSRejected || d <= roleSessionDefault ||
		e.Detail != "STS refused the request: InvalidArgument" {
		return err
	}
	hint := *e
	hint.Detail += " (no reason given; the likeliest is the duration: " + d.String() +
		" was asked for, and a role's MaxSessionDuration is 1h unless the role sets more)"
	return &hint
}

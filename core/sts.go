package core

import (
	"context"
	"strings"
	"time"
)

// STS is the narrow seam the issuer calls. The standard-library client in
// stsclient.go implements it and is what both gateways use; tests plug in
// their own.
//
// Implementations classify failures as *Error: KindSTSRejected for an STS
// error answer, KindSTSBadAnswer for an unreachable STS or an answer that is
// not an STS document, KindSTSTimeout when ctx's deadline passed, and
// KindGatewayCredentials when the gateway's own keys cannot be had.
type STS interface {
	AssumeRole(ctx context.Context, in AssumeRoleInput) (Credentials, error)
	AssumeRoleWithWebIdentity(ctx context.Context, in WebIdentityInput) (Credentials, error)
}

// AssumeRoleInput is one AssumeRole call.
type AssumeRoleInput struct {
	RoleARN     string
	SessionName string
	// Policy is an optional session policy JSON document.
	Policy   string
	Duration time.Duration
}

// WebIdentityInput is one AssumeRoleWithWebIdentity call.
type WebIdentityInput struct {
	// RoleARN may be empty for an STS that maps roles from claims (MinIO).
	RoleARN     string
	SessionName string
	Policy      string
	Duration    time.Duration
	// Token is the caller's JWT, forwarded as WebIdentityToken.
	Token string
}

// Credentials are the temporary keys STS returned.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	Expiration      time.Time
}

// newCredentials builds Credentials from an STS answer's fields. Keys and
// tokens are base64 or JWTs, so whitespace in them is layout (AWS's own
// examples wrap the token) and is removed.
func newCredentials(accessKeyID, secretAccessKey, sessionToken string, expiration time.Time) Credentials {
	if strings.Trim(accessKeyID+secretAccessKey+sessionToken, visibleASCII) == "" {
		// No white space anywhere: one library call instead of three.
		return Credentials{AccessKeyID: accessKeyID, SecretAccessKey: secretAccessKey, SessionToken: sessionToken, Expiration: expiration}
	}
	return Credentials{
		AccessKeyID:     stripSpace(accessKeyID),
		SecretAccessKey: stripSpace(secretAccessKey),
		SessionToken:    stripSpace(sessionToken),
		Expiration:      expiration,
	}
}

// missingField names the first field an STS answer left empty, or "" when
// none is: an answer without one of them is not an STS answer. (A function,
// not a method: it is on the hot path, see doc.go.)
func missingField(c Credentials) string {
	if c.AccessKeyID == "" {
		return "AccessKeyId"
	}
	if c.SecretAccessKey == "" {
		return "SecretAccessKey"
	}
	if c.SessionToken == "" {
		return "SessionToken"
	}
	if c.Expiration.IsZero() {
		return "Expiration"
	}
	return ""
}

// AccessKeys are the gateway's own keys, used to sign AssumeRole.
type AccessKeys struct {
	AccessKeyID     string
	SecretAccessKey string
	// SessionToken is set when the gateway's own keys are temporary.
	SessionToken string
}

// CredentialSource yields the gateway's current keys. Implementations return
// a KindGatewayCredentials *Error when they cannot.
type CredentialSource interface {
	AccessKeys(ctx context.Context) (AccessKeys, error)
}

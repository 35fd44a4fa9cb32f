package conformance

import (
	"net/http"
	"strings"
)

// RecordingDoer is do, appending to *sent every bearer token it sends, so
// that a test can look for them in the logs afterwards.
func RecordingDoer(do Doer, sent *[]string) Doer {
	return func(r *http.Request) (*http.Response, error) {
		if _, tok, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && len(tok) > 8 {
			*sent = append(*sent, tok)
		}
		return do(r)
	}
}

// LeakedFragments returns what logs hold of secrets: for each secret found,
// the probe looked for, which for a JWT is its signature part alone (that
// must not appear either) and otherwise the whole secret.
func LeakedFragments(logs string, secrets []string) []string {
	var leaked []string
	for _, s := range secrets {
		parts := strings.Split(s, ".")
		probe := parts[len(parts)-1]
		if len(probe) < 8 {
			probe = s
		}
		if strings.Contains(logs, probe) {
			leaked = append(leaked, probe)
		}
	}
	return leaked
}

// TokenDocument is the Token document of docs/api.md as a client reads it.
type TokenDocument struct {
	Credentials struct {
		EndpointURL     string
		AccessKeyId     string //nolint:revive // the document's spelling
		SecretAccessKey string
		SessionToken    string
		Expiration      string
	}
}

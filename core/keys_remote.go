package core

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// maxKeyDocumentBytes caps a JWKS or discovery document.
const maxKeyDocumentBytes = 1 << 20

// keysUnavailableDetail is what the caller is told when no keys can be had.
const keysUnavailableDetail = "token signing keys are unavailable"

// remoteOptions tune a remoteKeySet or a discoveryKeySet. Zero (or
// negative) values take the defaults.
type remoteOptions struct {
	Client *http.Client
	// RefreshCooldown is the least time between the starts of two fetches.
	RefreshCooldown time.Duration
	// FetchTimeout bounds one fetch.
	FetchTimeout time.Duration
	// MaxAge is how long fetched keys are used before a request refetches
	// them.
	MaxAge time.Duration
	// Logger is told when a refetch fails and the old keys are kept.
	Logger *slog.Logger
}

// remoteKeySet serves the keys of a JWKS URL, modelled on go-oidc's
// remoteKeySet and aws-sdk-go-v2's CredentialsCache. Nothing is fetched until
// the first Keys call. The keys are cached; an unknown kid (or no key that
// fits the alg), or keys older than MaxAge, cause a refetch, paced and shared
// among concurrent callers by a refresher (refresher.go). A failed fetch keeps
// the old keys.
type remoteKeySet struct {
	url     string
	display string // url without its password, for errors
	opts    remoteOptions
	now     func() time.Time

	mu        sync.Mutex
	keys      []jsonWebKey
	have      bool      // keys were fetched at least once
	fetchedAt time.Time // of the last good fetch
	refresh   refresher
}

// newRemoteKeySet returns a key set for the JWKS at jwksURL. It makes no
// request.
func newRemoteKeySet(jwksURL string, opts remoteOptions) *remoteKeySet {
	s := &remoteKeySet{
		url:     jwksURL,
		display: redactKeyURL(jwksURL),
		opts:    opts,
		now:     time.Now,
		refresh: refresher{cooldown: opts.RefreshCooldown},
	}
	s.refresh.mu = &s.mu
	return s
}

// Stats returns how many fetches were started and how many of them failed.
func (s *remoteKeySet) Stats() (fetches, failures uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refresh.stats()
}

// Keys implements KeySet.
func (s *remoteKeySet) Keys(ctx context.Context, kid, alg string) ([]any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// ran: a fetch ended while this caller was waiting for one; it takes
	// what is there now instead of fetching again.
	ran := false
	for {
		now := s.now()
		if s.have {
			got := selectKeys(s.keys, kid, alg)
			// Matching keys are served at once unless they are stale and
			// may be refreshed now; stale keys are still served while
			// another caller refreshes them.
			if len(got) > 0 && (ran || now.Sub(s.fetchedAt) < s.opts.MaxAge || !s.refresh.mayStart(now)) {
				return got, nil
			}
			if len(got) == 0 && ran {
				return got, nil
			}
		} else if ran {
			return nil, keysUnavailable(s.refresh.lastErr, s.display)
		}
		var err error
		ran, err = s.refresh.fetchOrWait(ctx, now, s.fetchFunc(s.have, s.fetchedAt))
		if err != nil {
			return nil, keysWaitEnded(ctx, s.display)
		}
		if !ran {
			// None under way and none may start yet: what there is.
			if s.have {
				return selectKeys(s.keys, kid, alg), nil
			}
			return nil, keysUnavailable(s.refresh.lastErr, s.display)
		}
	}
}

// fetchFunc is the refresher's fetch: the keys, stored on success. A
// failed refetch keeps the keys of the last good fetch (had, at fetchedAt)
// and says so in the log.
func (s *remoteKeySet) fetchFunc(had bool, fetchedAt time.Time) func(ctx context.Context) (func(), error) {
	return func(ctx context.Context) (func(), error) {
		keys, err := s.fetch(ctx)
		if err != nil {
			if had && ctx.Err() == nil {
				s.opts.Logger.Warn("token signing keys could not be refetched; the keys fetched before are kept",
					slog.String("source", s.display),
					slog.String("fetched_at", fetchedAt.UTC().Format(time.RFC3339)),
					slog.String("error", err.Error()))
			}
			return nil, err
		}
		return func() {
			s.keys = keys
			s.have = true
			s.fetchedAt = s.now()
		}, nil
	}
}

func (s *remoteKeySet) fetch(ctx context.Context) ([]jsonWebKey, error) {
	body, err := fetchKeyDocument(ctx, s.opts.Client, s.url, s.display, s.opts.FetchTimeout)
	if err != nil {
		return nil, err
	}
	keys, err := parseJWKS(body)
	if err != nil {
		return nil, fmt.Errorf("JWKS from %s: %v", s.display, err)
	}
	return keys, nil
}

// fetchKeyDocument GETs a JWKS or discovery document: status 200 and at most
// 1 MiB, within timeout. Errors name the URL (display) and never a token.
func fetchKeyDocument(ctx context.Context, client *http.Client, rawURL, display string, timeout time.Duration) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %v", display, err)
	}
	req.Header.Set("Accept", "application/json, application/jwk-set+json")
	resp, err := client.Do(req)
	if err != nil {
		if ue, ok := err.(*url.Error); ok {
			err = ue.Err
		}
		return nil, fmt.Errorf("GET %s: %w", display, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return nil, fmt.Errorf("GET %s: status %s", display, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxKeyDocumentBytes+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: reading body: %w", display, err)
	}
	if len(body) > maxKeyDocumentBytes {
		return nil, fmt.Errorf("GET %s: document larger than %d bytes", display, maxKeyDocumentBytes)
	}
	return body, nil
}

// keysUnavailable is the KindKeysUnavailable refusal; the cause names the
// source, for logs.
func keysUnavailable(cause error, source string) *Error {
	if cause == nil {
		cause = fmt.Errorf("no keys could be read from %s", source)
	}
	return &Error{Kind: KindKeysUnavailable, Detail: keysUnavailableDetail, Err: cause}
}

// keysWaitEnded is the refusal of a caller whose ctx ended while keys were
// being fetched.
func keysWaitEnded(ctx context.Context, source string) *Error {
	return &Error{
		Kind:   KindKeysUnavailable,
		Detail: keysUnavailableDetail,
		Err:    fmt.Errorf("gave up waiting for keys from %s: %w", source, ctx.Err()),
	}
}

// redactKeyURL hides a password in a key URL before it reaches a log or an
// error. A URL that does not parse is shown as written, unless it may hold
// a password (an '@').
func redactKeyURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if strings.Contains(raw, "@") {
			return "(a malformed URL)"
		}
		return raw
	}
	return u.Redacted()
}

package core

import (
	"bytes"
	"context"
	"fmt"
	"math/rand"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

const (
	stsAPIVersion    = "2011-06-15"
	stsContentType   = "application/x-www-form-urlencoded; charset=utf-8"
	stsUserAgent     = "stsgate"
	stsRetryBase     = 100 * time.Millisecond
	stsRetryMaxDelay = time.Second
)

// STSClient calls the STS Query API with the standard library. It implements
// STS, and is safe for concurrent use; build one per configuration and keep
// it: it holds the connection pool.
type STSClient struct {
	endpoint string
	timeout  time.Duration
	retries  int
	creds    CredentialSource
	// staticKeys and fileKeys are creds when it is one of the core's own
	// sources, read without an interface call (see doc.go).
	staticKeys *AccessKeys
	fileKeys   *fileCredentials
	client     *http.Client
	// retired is set (atomically) by Retire: the client's connections are
	// closed once idle instead of kept for reuse.
	retired int32
	// signing holds the endpoint's parts of every canonical request.
	signing *sigV4Endpoint

	// now is the signing clock; tests fix it.
	now func() time.Time
	// retryBase is the first retry's delay before jitter; tests shorten it.
	retryBase time.Duration
}

// NewSTSClient builds an STS client for cfg's STS settings (cfg validated:
// Config.Validate). creds signs AssumeRole and may be nil, in which case
// AssumeRole fails with KindGatewayCredentials while
// AssumeRoleWithWebIdentity, which is unsigned, works.
func NewSTSClient(cfg Config, creds CredentialSource) (*STSClient, error) {
	cfg = cfg.normalized()
	trust, err := readTLS("ca_file", cfg.STS.CAFile, cfg.STS.InsecureSkipVerify)
	if err == nil {
		var c *STSClient
		c, err = newSTSClient(cfg.STS, trust, creds)
		if err == nil {
			return c, nil
		}
	}
	return nil, cfg.spelling().spell(err)
}

// newSTSClient builds the client over a ca_file already read. It follows
// no redirect: one would re-send the signed call or the caller's token
// elsewhere, so it reads as a bad answer instead.
func newSTSClient(sts STSConfig, trust trustTLS, creds CredentialSource) (*STSClient, error) {
	signing, err := newSigV4Endpoint(sts.Endpoint, sts.Region)
	if err != nil {
		return nil, configError("sts_endpoint", err.Error())
	}
	client := trust.client(sts.Timeout)
	client.CheckRedirect = func(req *http.Request, via []*http.Request) error { return http.ErrUseLastResponse }
	c := &STSClient{
		signing:   signing,
		endpoint:  sts.Endpoint,
		timeout:   sts.Timeout,
		retries:   sts.Retries,
		creds:     creds,
		client:    client,
		now:       time.Now,
		retryBase: stsRetryBase,
	}
	switch src := creds.(type) {
	case *staticCredentials:
		c.staticKeys = &src.keys
	case *fileCredentials:
		c.fileKeys = src
	}
	return c, nil
}

// Retire closes the client's idle connections, and from now on closes each
// connection as soon as its call ends instead of keeping it for reuse: a
// host calls it when a reload replaced the client, so that the calls still
// under way do not leave connections open until the idle timeout (90 s).
// A retired client still works.
func (c *STSClient) Retire() {
	atomic.StoreInt32(&c.retired, 1)
	c.client.CloseIdleConnections()
}

// AssumeRole calls AssumeRole, signed with the gateway's own keys.
func (c *STSClient) AssumeRole(ctx context.Context, in AssumeRoleInput) (Credentials, error) {
	return assumeRole(c, ctx, &in)
}

// assumeRole is AssumeRole, which the Issuer calls directly (see
// doc.go).
func assumeRole(c *STSClient, ctx context.Context, in *AssumeRoleInput) (Credentials, error) {
	if c.creds == nil {
		return Credentials{}, GatewayCredentialsUnavailable(fmt.Errorf("no access key is configured to sign AssumeRole"))
	}
	form := stsForm("AssumeRole", in.RoleARN, in.SessionName, in.Duration, in.Policy)
	creds, err := stsCall(c, ctx, form, true, []string{in.Policy})
	if err != nil {
		return creds, withDurationHint(err, in.Duration)
	}
	return creds, nil
}

// AssumeRoleWithWebIdentity calls AssumeRoleWithWebIdentity, unsigned, with
// the caller's token.
func (c *STSClient) AssumeRoleWithWebIdentity(ctx context.Context, in WebIdentityInput) (Credentials, error) {
	return assumeRoleWithWebIdentity(c, ctx, &in)
}

// assumeRoleWithWebIdentity is AssumeRoleWithWebIdentity, which the Issuer
// calls directly (see doc.go).
func assumeRoleWithWebIdentity(c *STSClient, ctx context.Context, in *WebIdentityInput) (Credentials, error) {
	form := stsForm("AssumeRoleWithWebIdentity", in.RoleARN, in.SessionName, in.Duration, in.Policy) +
		"&WebIdentityToken=" + formEscape(in.Token)
	creds, err := stsCall(c, ctx, form, false, []string{in.Token, in.Policy})
	if err != nil {
		return creds, withDurationHint(err, in.Duration)
	}
	return creds, nil
}

// stsForm is the form body shared by both actions. (Concatenated, not
// built: under yaegi each strings.Builder call costs more than the copy.)
func stsForm(action, roleARN, sessionName string, duration time.Duration, policy string) string {
	form := "Action=" + action + "&Version=" + stsAPIVersion
	if roleARN != "" {
		form += "&RoleArn=" + formEscape(roleARN)
	}
	form += "&RoleSessionName=" + formEscape(sessionName)
	if secs := int64(duration / time.Second); secs > 0 {
		form += "&DurationSeconds=" + strconv.FormatInt(secs, 10)
	}
	if policy != "" {
		form += "&Policy=" + formEscape(policy)
	}
	return form
}

// formEscape encodes a form value as SigV4's canonical form does: every byte
// but A-Z a-z 0-9 - _ . ~ as %XX, a space as %20. Ceph RGW does not decode
// '+' as a space in an STS form body, so a policy for "dave smith" would
// otherwise grant "dave+smith". (url.QueryEscape leaves the same bytes bare
// and writes only spaces as '+'; one library call instead of one per byte
// under yaegi.)
func formEscape(s string) string {
	e := url.QueryEscape(s)
	if strings.IndexByte(e, '+') < 0 {
		return e
	}
	return strings.ReplaceAll(e, "+", "%20")
}

// stsCall makes the STS call, retrying connection failures and 5xx answers
// while the whole call stays within c.timeout. The first attempt is made
// here and the retries in retry, so that the common case stays small (see
// doc.go).
func stsCall(c *STSClient, parent context.Context, form string, signed bool, redact []string) (Credentials, error) {
	ctx, cancel := context.WithTimeout(parent, c.timeout)
	// keys stay nil for an unsigned call.
	var keys *AccessKeys
	if signed {
		keys = c.staticKeys
		if keys == nil {
			var err error
			if keys, err = stsSigningKeys(c, ctx); err != nil {
				cancel()
				return Credentials{}, err
			}
		}
	}
	body := []byte(form)
	creds, retry, transport, err := stsAttempt(c, ctx, body, keys, redact)
	if err != nil {
		creds, err = c.retry(parent, ctx, body, keys, redact, retry, transport, err)
	}
	cancel()
	if atomic.LoadInt32(&c.retired) != 0 {
		c.client.CloseIdleConnections()
	}
	return creds, err
}

// stsSigningKeys are the gateway's keys for AssumeRole, from a source
// other than inline keys (stsCall takes those as they are: they were
// checked when the source was built).
func stsSigningKeys(c *STSClient, ctx context.Context) (*AccessKeys, error) {
	var k AccessKeys
	var err error
	if c.fileKeys != nil {
		k, err = fileAccessKeys(c.fileKeys, ctx)
	} else {
		k, err = c.creds.AccessKeys(ctx)
	}
	if err != nil || k.AccessKeyID == "" || k.SecretAccessKey == "" {
		return nil, signingKeysFailed(err)
	}
	return &k, nil
}

// signingKeysFailed is the refusal for keys that could not be read (err)
// or came back empty (err nil).
func signingKeysFailed(err error) error {
	if err == nil {
		return GatewayCredentialsUnavailable(fmt.Errorf("the credential source gave an empty key"))
	}
	if e, ok := asError(err); ok {
		return e
	}
	return GatewayCredentialsUnavailable(err)
}

// retry goes on after a failed first attempt (err, with its retry and
// transport flags), with jittered backoff, while attempts and time remain.
func (c *STSClient) retry(parent, ctx context.Context, body []byte, keys *AccessKeys, redact []string, retry, transport bool, err error) (Credentials, error) {
	for attempt := 0; ; attempt++ {
		if transport && ctx.Err() != nil {
			return Credentials{}, c.contextError(parent, ctx, err)
		}
		if !retry || attempt >= c.retries {
			return Credentials{}, err
		}
		wait := c.backoff(attempt)
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
			// Waiting would only turn this answer into a timeout.
			return Credentials{}, err
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return Credentials{}, c.contextError(parent, ctx, err)
		case <-timer.C:
		}
		var creds Credentials
		creds, retry, transport, err = stsAttempt(c, ctx, body, keys, redact)
		if err == nil {
			return creds, nil
		}
	}
}

// stsAttempt makes one request, signed with keys unless they are nil.
// retry says whether the failure may be
// retried, transport whether it happened below HTTP (so that ctx may be its
// cause). (Named results: each Credentials{} of a return would be one more
// allocation per call under yaegi.)
func stsAttempt(c *STSClient, ctx context.Context, body []byte, keys *AccessKeys, redact []string) (creds Credentials, retry, transport bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return creds, false, false, badSTSAnswer(err)
	}
	// Canonical keys set directly: what Header.Set does, minus its work.
	req.Header["Content-Type"] = []string{stsContentType}
	if keys != nil {
		signForEndpoint(c.signing, req, body, keys, c.now())
	}
	// Set after signing: the signer leaves User-Agent out anyway.
	req.Header["User-Agent"] = []string{stsUserAgent}
	resp, err := c.client.Do(req)
	if err != nil {
		return creds, true, true, stsUnreachable(err)
	}
	answer, err := readSTSAnswer(resp.Body)
	resp.Body.Close()
	if err == nil && resp.StatusCode == http.StatusOK {
		var ok bool
		if creds, ok = stsSuccess(answer); ok {
			return creds, false, false, nil
		}
	}
	return c.answerFailed(resp.StatusCode, answer, err, redact)
}

// answerFailed classifies an answer that is not a plain success (or could
// not be read).
func (c *STSClient) answerFailed(status int, answer []byte, readErr error, redact []string) (Credentials, bool, bool, error) {
	if readErr != nil {
		if e, ok := asError(readErr); ok {
			return Credentials{}, false, false, e
		}
		return Credentials{}, true, true, stsUnreachable(readErr)
	}
	if status >= 300 && status <= 399 {
		return Credentials{}, false, false, badSTSAnswer(fmt.Errorf("STS answered HTTP %d, a redirect", status))
	}
	creds, err := parseSTSAnswer(status, answer, redact)
	if err != nil {
		return Credentials{}, status >= 500, false, err
	}
	return creds, false, false, nil
}

// contextError classifies a failure once ctx is done: a bad answer when the
// caller went away, else the timeout (ours, or an earlier one of the caller's).
func (c *STSClient) contextError(parent, ctx context.Context, cause error) *Error {
	if parent.Err() == context.Canceled {
		return badSTSAnswer(fmt.Errorf("the STS call was cancelled: %v", stsCause(cause)))
	}
	return stsTimedOut(c.timeout, stsCause(cause))
}

// stsCause unwraps one level of *Error so that a timeout's cause reads as the
// transport's own error.
func stsCause(err error) error {
	if e, ok := err.(*Error); ok && e.Err != nil {
		return e.Err
	}
	return err
}

// backoff is the jittered delay before retry number attempt+1: half to all
// of retryBase doubled per attempt, at most stsRetryMaxDelay.
func (c *STSClient) backoff(attempt int) time.Duration {
	d := c.retryBase
	for i := 0; i < attempt && d < stsRetryMaxDelay; i++ {
		d *= 2
	}
	if d > stsRetryMaxDelay {
		d = stsRetryMaxDelay
	}
	if d <= 1 {
		return d
	}
	half := d / 2
	return half + time.Duration(rand.Int63n(int64(half)+1))
}

package caddymodule

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"
	smithyendpoints "github.com/aws/smithy-go/endpoints"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/stsgate/stsgate/core"
)

const (
	// stsMaxBackoff caps the SDK's jittered delay between two attempts, so
	// that retries stay well inside the call's timeout.
	stsMaxBackoff = 500 * time.Millisecond
	// maxSTSAnswer bounds what is read of an STS error answer, as the core's
	// own client does; real ones are ~1 KiB.
	maxSTSAnswer = 1 << 20
)

// stsClient implements core.STS with aws-sdk-go-v2. It is built once per
// handler and keeps the SDK client (and so its connection pool); close
// releases the pool's idle connections.
type stsClient struct {
	client   *sts.Client
	timeout  time.Duration
	http     *http.Client
	chain    *defaultChain
	resolved string
}

// newSTSClient builds the SDK client for cfg (already validated).
// explicitEndpoint says whether the operator set sts_endpoint; without it
// the SDK resolves AWS STS's endpoint for the region.
func newSTSClient(cfg core.Config, explicitEndpoint bool) (*stsClient, error) {
	httpClient, err := core.NewSTSHTTPClient(cfg.STS)
	if err != nil {
		return nil, err
	}
	c := &stsClient{timeout: cfg.STS.Timeout, http: httpClient, resolved: "AWS STS (" + cfg.STS.Region + ")"}
	if c.timeout <= 0 {
		c.timeout = core.DefaultSTSTimeout
	}

	var creds aws.CredentialsProvider
	switch {
	case cfg.Mode == core.ModeWebIdentity:
		// AssumeRoleWithWebIdentity is unsigned (the SDK's auth scheme for it
		// is anonymous): the caller's token is the credential.
		creds = nil
	case cfg.Credentials.HasKeys():
		src, err := core.NewCredentialSource(cfg.Credentials)
		if err != nil {
			return nil, err
		}
		creds = sourceProvider{src: src}
	default:
		c.chain = newDefaultChain(cfg.STS.Region)
		creds = c.chain
	}

	opts := sts.Options{
		Region:      cfg.STS.Region,
		HTTPClient:  wireClient{httpClient},
		Credentials: creds,
		Retryer:     newRetryer(cfg.STS.Retries),
		APIOptions:  []func(*middleware.Stack) error{trimStack},
	}
	if explicitEndpoint {
		opts.BaseEndpoint = aws.String(cfg.STS.Endpoint)
		if r, ok := newStaticEndpoint(cfg.STS.Endpoint); ok {
			opts.EndpointResolverV2 = r
		}
		c.resolved = cfg.STS.Endpoint
	}
	c.client = sts.New(opts)
	return c, nil
}

// stsUserAgent replaces the SDK's user agent, which it rebuilds from a
// dozen parts on every call.
const stsUserAgent = "stsgate aws-sdk-go-v2/" + aws.SDKVersion

// unusedMiddlewares are the SDK middlewares that do nothing for the
// gateway's calls but cost time on each one. Each is safe to drop:
//   - OperationInputValidation: checks that required members are set; ours
//     always are, except a web identity call's RoleArn, which must go out
//     without it (MinIO maps roles from claims).
//   - ResolveEndpoint: the legacy (v1) endpoint resolver, only active with
//     Options.EndpointResolver, which is never set.
//   - ClientRequestID, UserAgent, RecursionDetection: an invocation-id
//     header (a UUID from crypto/rand), the SDK's long user agent (the
//     transport sets stsUserAgent instead), and Lambda's trace header. None
//     reaches what STS answers.
//   - InterceptBeforeRetryLoop, InterceptAttempt: run Options.Interceptors,
//     of which there are none.
//   - disableHTTPS: acts only with EndpointOptions.DisableHTTPS, never set.
//   - setLegacyContextSigningOptions: copies signing name and region from
//     the context, which only the legacy resolver or WithSigV4SigningName
//     put there; neither is used.
//   - AddRawResponseToMetadata: keeps the response in the metadata, which
//     nothing reads (ResponseErrorWrapper and the retryer use the error).
//   - RequestResponseLogger: logs only with Options.ClientLogMode, unset.
//
// ResponseErrorWrapper and RequestIDRetriever stay (classify reads status
// and request ID from the error; the retryer its status), and so does
// RecordResponseTiming (the SDK corrects its signing clock from it).
var unusedMiddlewares = struct {
	initialize, serialize, build, finalize, deserialize []string
}{
	initialize:  []string{"OperationInputValidation"},
	serialize:   []string{"ResolveEndpoint"},
	build:       []string{"ClientRequestID", "UserAgent", "RecursionDetection"},
	finalize:    []string{"InterceptBeforeRetryLoop", "InterceptAttempt", "disableHTTPS", "setLegacyContextSigningOptions"},
	deserialize: []string{"AddRawResponseToMetadata", "RequestResponseLogger"},
}

// trimStack removes unusedMiddlewares from a call's stack. An ID the SDK no
// longer has is skipped: the call then only does needless work, and
// TestSTSClientRequestOnTheWire notices.
func trimStack(s *middleware.Stack) error {
	for _, id := range unusedMiddlewares.initialize {
		_, _ = s.Initialize.Remove(id)
	}
	for _, id := range unusedMiddlewares.serialize {
		_, _ = s.Serialize.Remove(id)
	}
	for _, id := range unusedMiddlewares.build {
		_, _ = s.Build.Remove(id)
	}
	for _, id := range unusedMiddlewares.finalize {
		_, _ = s.Finalize.Remove(id)
	}
	for _, id := range unusedMiddlewares.deserialize {
		_, _ = s.Deserialize.Remove(id)
	}
	return nil
}

// staticEndpoint is the endpoint resolver for an operator-set sts_endpoint.
// The SDK's rules give exactly this for a custom endpoint (the URL as it
// is, no headers, no auth properties) but evaluate their rules and parse the
// URL on every call.
type staticEndpoint struct {
	uri url.URL
}

// newStaticEndpoint parses endpoint once. ok is false when it does not
// parse, so that the SDK's resolver reports that as it always has.
func newStaticEndpoint(endpoint string) (staticEndpoint, bool) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return staticEndpoint{}, false
	}
	return staticEndpoint{uri: *u}, true
}

func (e staticEndpoint) ResolveEndpoint(context.Context, sts.EndpointParameters) (smithyendpoints.Endpoint, error) {
	return smithyendpoints.Endpoint{URI: e.uri, Headers: http.Header{}}, nil
}

// wireClient is the HTTP client the SDK sends through. It sets
// stsUserAgent, and hands the transport the request body as a bytes.Reader:
// the SDK's own wrapper is not one the transport knows to be in memory, so
// it would write the headers and the body in two writes (two packets).
type wireClient struct {
	*http.Client
}

// maxInMemoryBody bounds the body wireClient reads ahead; an STS form is a
// few KiB at most (a web identity token and a session policy).
const maxInMemoryBody = 1 << 20

func (w wireClient) Do(req *http.Request) (*http.Response, error) {
	req.Header.Set("User-Agent", stsUserAgent)
	if req.Body != nil && req.Body != http.NoBody && req.ContentLength > 0 && req.ContentLength <= maxInMemoryBody {
		body := make([]byte, req.ContentLength)
		n, err := io.ReadFull(req.Body, body)
		if err != nil {
			// Send what was read and what remains, as the transport would
			// have; it reports a short body itself.
			req.Body = readCloser{io.MultiReader(bytes.NewReader(body[:n]), req.Body), req.Body}
		} else {
			_ = req.Body.Close()
			req.Body = io.NopCloser(bytes.NewReader(body))
		}
	}
	return w.Client.Do(req)
}

type readCloser struct {
	io.Reader
	io.Closer
}

// newRetryer is the SDK's standard retryer bounded for a gateway: retries+1
// attempts, a 500ms cap on the backoff, no client-side retry quota (a quota
// drained by a failing STS would change the answer of later calls), and no
// retry that could not finish before the call's deadline.
func newRetryer(retries int) aws.Retryer {
	if retries < 0 {
		retries = 0
	}
	return deadlineRetryer{Standard: retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = retries + 1
		o.MaxBackoff = stsMaxBackoff
		o.RateLimiter = ratelimit.None
	})}
}

// errRetryWouldTimeOut stops a retry whose backoff could outlast the call's
// deadline: the answer at hand is better than a timeout.
var errRetryWouldTimeOut = errors.New("no retry: the deadline is too close")

// deadlineRetryer refuses a retry when less than the longest backoff is left
// before ctx's deadline, as the core's own client does.
type deadlineRetryer struct {
	*retry.Standard
}

func (r deadlineRetryer) GetRetryToken(ctx context.Context, opErr error) (func(error) error, error) {
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < stsMaxBackoff {
		return nil, errRetryWouldTimeOut
	}
	return r.Standard.GetRetryToken(ctx, opErr)
}

// AssumeRole calls AssumeRole, signed with the gateway's own keys.
func (c *stsClient) AssumeRole(parent context.Context, in core.AssumeRoleInput) (core.Credentials, error) {
	ctx, cancel := context.WithTimeout(parent, c.timeout)
	defer cancel()
	input := &sts.AssumeRoleInput{
		RoleArn:         aws.String(in.RoleARN),
		RoleSessionName: aws.String(in.SessionName),
		DurationSeconds: durationSeconds(in.Duration),
	}
	if in.Policy != "" {
		input.Policy = aws.String(in.Policy)
	}
	answer := new(capturedAnswer)
	out, err := c.client.AssumeRole(ctx, input, answer.capture)
	if err != nil {
		return core.Credentials{}, c.classify(parent, ctx, err, answer, []string{in.Policy})
	}
	return credentialsOf(out.Credentials)
}

// AssumeRoleWithWebIdentity calls AssumeRoleWithWebIdentity, unsigned, with
// the caller's token. An empty RoleARN is left out of the call (MinIO maps
// roles from claims): trimStack removes the SDK's client-side check that
// requires it.
func (c *stsClient) AssumeRoleWithWebIdentity(parent context.Context, in core.WebIdentityInput) (core.Credentials, error) {
	ctx, cancel := context.WithTimeout(parent, c.timeout)
	defer cancel()
	input := &sts.AssumeRoleWithWebIdentityInput{
		RoleSessionName:  aws.String(in.SessionName),
		WebIdentityToken: aws.String(in.Token),
		DurationSeconds:  durationSeconds(in.Duration),
	}
	if in.RoleARN != "" {
		input.RoleArn = aws.String(in.RoleARN)
	}
	if in.Policy != "" {
		input.Policy = aws.String(in.Policy)
	}
	answer := new(capturedAnswer)
	out, err := c.client.AssumeRoleWithWebIdentity(ctx, input, answer.capture)
	if err != nil {
		return core.Credentials{}, c.classify(parent, ctx, err, answer, []string{in.Token, in.Policy})
	}
	return credentialsOf(out.Credentials)
}

func durationSeconds(d time.Duration) *int32 {
	secs := int64(d / time.Second)
	if secs <= 0 || secs > int64(core.MaxDuration/time.Second) {
		return nil
	}
	return aws.Int32(int32(secs))
}

// credentialsOf checks a successful answer. An STS document without
// credentials (or a 200 with an empty body, which the SDK accepts) is a bad
// answer, as in the core.
func credentialsOf(c *ststypes.Credentials) (core.Credentials, error) {
	if c == nil {
		return core.Credentials{}, core.STSBadAnswer(errors.New("the STS answer holds no Credentials"))
	}
	out := core.NewCredentials(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken), aws.ToTime(c.Expiration).UTC())
	if missing := out.Missing(); missing != "" {
		return core.Credentials{}, core.STSBadAnswer(fmt.Errorf("the STS answer has no %s", missing))
	}
	return out, nil
}

// classify turns an SDK failure into the core's *Error, in this order:
//  1. a *core.Error in the chain (the gateway's credentials could not be
//     had, or an answer was too large) as it is;
//  2. a smithy.APIError (the STS answered with an error status): the answer
//     read as the core reads it, so that code and message reach the caller
//     exactly as from the core — STSRejected for an ErrorResponse or Error
//     document, STSBadAnswer for anything else (an HTML error page, an
//     empty body);
//  3. the call's context done: STSTimeout, or STSBadAnswer when the caller
//     went away;
//  4. a failure to send the request (connection refused, DNS, TLS):
//     STSUnreachable;
//  5. a smithy.DeserializationError (a success status whose body is not an
//     STS answer): the answer read as the core reads it, which makes it
//     STSBadAnswer unless it is an STS error document;
//  6. anything else: STSBadAnswer.
func (c *stsClient) classify(parent, ctx context.Context, err error, answer *capturedAnswer, redact []string) error {
	var coreErr *core.Error
	if errors.As(err, &coreErr) {
		return coreErr
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		if answer.body != nil {
			return readFailedAnswer(answer.status, answer.body, err, redact)
		}
		return core.STSErrorAnswer(httpStatus(err), apiErr.ErrorCode(), apiErr.ErrorMessage(), requestID(err), redact)
	}
	if ctx.Err() != nil {
		if parent.Err() == context.Canceled {
			return core.STSBadAnswer(fmt.Errorf("the STS call was cancelled: %w", err))
		}
		return core.STSTimeout(c.timeout, err)
	}
	var sendErr *smithyhttp.RequestSendError
	if errors.As(err, &sendErr) {
		return core.STSUnreachable(err)
	}
	if answer.body != nil {
		return readFailedAnswer(answer.status, answer.body, err, redact)
	}
	return core.STSBadAnswer(err)
}

func httpStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.Response != nil {
		return re.HTTPStatusCode()
	}
	return 0
}

func requestID(err error) string {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.ServiceRequestID()
	}
	return ""
}

// capturedAnswer keeps the body of the last attempt's answer, so that
// classify can read a failed answer exactly as the core does (the SDK's own
// error deserializer fills in "UnknownError" for a missing code, repeats the
// code as a missing message, cannot read a bare <Error> document, and takes
// an error document with status 200 for a malformed success).
type capturedAnswer struct {
	status int
	body   []byte
}

// capture is an sts option function that adds the capturing middleware to
// one call.
func (a *capturedAnswer) capture(o *sts.Options) {
	o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
		return s.Deserialize.Insert(middleware.DeserializeMiddlewareFunc("StsgateCaptureAnswer", a.handle),
			"OperationDeserializer", middleware.After)
	})
}

// handle runs between the transport and the SDK's deserializer, once per
// attempt: it reads the answer (at most maxSTSAnswer bytes, as the core
// does) and hands the SDK a copy.
func (a *capturedAnswer) handle(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
	a.status, a.body = 0, nil
	out, md, err := next.HandleDeserialize(ctx, in)
	resp, ok := out.RawResponse.(*smithyhttp.Response)
	if err != nil || !ok || resp.Response == nil || resp.Body == nil {
		return out, md, err
	}
	body, readErr := readAnswer(resp.Body, resp.ContentLength)
	_ = resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if readErr != nil {
		// The SDK reads the truncated answer and fails; classify then sees
		// the context's deadline, or a bad answer.
		return out, md, err
	}
	if len(body) > maxSTSAnswer {
		return out, md, core.STSBadAnswer(fmt.Errorf("STS answered HTTP %d: the answer is larger than %d bytes", resp.StatusCode, maxSTSAnswer))
	}
	a.status, a.body = resp.StatusCode, body
	return out, md, err
}

// readAnswer is io.ReadAll of at most maxSTSAnswer+1 bytes, with room for
// an announced length (and the read that sees EOF) made at once instead of
// grown from 512 bytes: one allocation for a real answer instead of up to
// four.
func readAnswer(r io.Reader, length int64) ([]byte, error) {
	r = io.LimitReader(r, maxSTSAnswer+1)
	if length < 0 || length > maxSTSAnswer {
		return io.ReadAll(r)
	}
	body := make([]byte, 0, length+1)
	for {
		n, err := r.Read(body[len(body):cap(body)])
		body = body[:len(body)+n]
		if err == io.EOF {
			return body, nil
		}
		if err != nil {
			return body, err
		}
		if len(body) == cap(body) {
			body = append(body, 0)[:len(body)]
		}
	}
}

// readFailedAnswer reads an answer the SDK failed on exactly as the core
// reads it: a refusal for an error document (whatever the status), a bad
// answer for anything else. A success document that the SDK could not read
// is a bad answer too, with the SDK's failure as its cause.
func readFailedAnswer(status int, body []byte, sdkErr error, redact []string) error {
	if _, err := core.ParseSTSAnswer(status, body, redact); err != nil {
		return err
	}
	return core.STSBadAnswer(fmt.Errorf("STS answered HTTP %d: the SDK could not read the answer: %w", status, sdkErr))
}

// endpoint names where calls go, for logs.
func (c *stsClient) endpoint() string { return c.resolved }

// close releases the idle connections of the client's pool.
func (c *stsClient) close() {
	c.http.CloseIdleConnections()
}

// Interface guards
var (
	_ core.STS               = (*stsClient)(nil)
	_ aws.RetryerV2          = deadlineRetryer{}
	_ sts.EndpointResolverV2 = staticEndpoint{}
	_ sts.HTTPClient         = wireClient{}
)

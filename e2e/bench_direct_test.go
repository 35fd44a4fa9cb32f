//go:build stsbench

package e2e

// The direct baseline: aws-sdk-go-v2's STS client calling MinIO, the way a
// client holding keys would. (Both gateways call the STS with the core's own
// client; the Caddy build uses the SDK only for its own credentials chain.)

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/middleware"
)

// directSTS is an SDK STS client for MinIO, signing with its root keys.
type directSTS struct {
	client *sts.Client
	http   *http.Client
}

// newDirectSTS builds the client with a connection pool that keeps conns
// idle connections (the gateways' STS clients keep 64), retries like the
// gateways (two retries, no client-side retry quota) and no redirects.
func newDirectSTS(endpoint string, conns int) *directSTS {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConns = 256
	transport.MaxIdleConnsPerHost = max(conns, 64)
	httpClient := &http.Client{
		Transport:     transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	client := sts.New(sts.Options{
		Region:       minioRegion,
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider(minioRootUser, minioRootPassword, ""),
		HTTPClient:   httpClient,
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 3
			o.MaxBackoff = 500 * time.Millisecond
			o.RateLimiter = ratelimit.None
		}),
	})
	return &directSTS{client: client, http: httpClient}
}

var errNoCredentials = errors.New("the STS answered without credentials")

// assumeRole is one AssumeRole for an hour.
func (d *directSTS) assumeRole(ctx context.Context, session string) error {
	out, err := d.client.AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn:         aws.String(minioRoleARN),
		RoleSessionName: aws.String(session),
		DurationSeconds: aws.Int32(3600),
	})
	if err != nil {
		return err
	}
	if out.Credentials == nil || aws.ToString(out.Credentials.AccessKeyId) == "" {
		return errNoCredentials
	}
	return nil
}

// assumeRoleWithWebIdentity is one unsigned AssumeRoleWithWebIdentity for
// an hour with no role ARN: MinIO takes the policy from the token's claim.
func (d *directSTS) assumeRoleWithWebIdentity(ctx context.Context, session, token string) error {
	out, err := d.client.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
		RoleSessionName:  aws.String(session),
		WebIdentityToken: aws.String(token),
		DurationSeconds:  aws.Int32(3600),
	}, withoutInputValidation)
	if err != nil {
		return err
	}
	if out.Credentials == nil || aws.ToString(out.Credentials.AccessKeyId) == "" {
		return errNoCredentials
	}
	return nil
}

// withoutInputValidation drops the SDK's client-side check that RoleArn is
// set, as the Caddy build does for MinIO's claim-based web identity.
func withoutInputValidation(o *sts.Options) {
	o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
		_, err := s.Initialize.Remove("OperationInputValidation")
		return err
	})
}

func (d *directSTS) close() { d.http.CloseIdleConnections() }

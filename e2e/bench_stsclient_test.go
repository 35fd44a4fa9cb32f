//go:build stsbench

package e2e

// Two STS clients priced alone: aws-sdk-go-v2 configured as
// BenchmarkGateways' direct rows configure it, and the core's
// standard-library client (SigV4, HTTP, XML) that both gateways call it with
// (Traefik interprets it; compiled here). Both call the conformance fake STS on loopback,
// whose cost is the same in both.
//
//	cd e2e && go test -run '^$' -bench BenchmarkSTSClient .

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/stsgate/stsgate/core"
	"github.com/stsgate/stsgate/internal/conformance"
	"github.com/stsgate/stsgate/internal/fakests"
)

func BenchmarkSTSClient(b *testing.B) {
	fake, err := fakests.Start(nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(fake.Close)

	sdk := newDirectSTS(fake.URL, 64).client
	sdk = sts.New(sdk.Options(), func(o *sts.Options) {
		o.Credentials = credentials.NewStaticCredentialsProvider(conformance.GatewayAccessKey, conformance.GatewaySecretKey, "")
		o.Retryer = retry.NewStandard(func(o *retry.StandardOptions) { o.RateLimiter = ratelimit.None })
	})
	src, err := core.NewCredentialSource(core.CredentialsConfig{AccessKey: conformance.GatewayAccessKey, SecretKey: conformance.GatewaySecretKey})
	if err != nil {
		b.Fatal(err)
	}
	std, err := core.NewSTSClient(core.Config{STS: core.STSConfig{Endpoint: fake.URL, Region: minioRegion, Timeout: 10 * time.Second, Retries: 2}}, src)
	if err != nil {
		b.Fatal(err)
	}

	clients := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"aws-sdk-go-v2", func(ctx context.Context) error {
			_, err := sdk.AssumeRole(ctx, &sts.AssumeRoleInput{
				RoleArn: aws.String(fakests.RoleOK), RoleSessionName: aws.String("jane"), DurationSeconds: aws.Int32(3600),
			})
			return err
		}},
		{"core-stdlib", func(ctx context.Context) error {
			_, err := std.AssumeRole(ctx, core.AssumeRoleInput{RoleARN: fakests.RoleOK, SessionName: "jane", Duration: time.Hour})
			return err
		}},
	}
	for _, c := range clients {
		b.Run(c.name, func(b *testing.B) {
			ctx := context.Background()
			if err := c.call(ctx); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := c.call(ctx); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

package caddymodule

import (
	"context"
	"errors"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/stsgate/stsgate/core"
)

// sourceProvider is an aws.CredentialsProvider over the core's source of
// the gateway's own keys (access_key/secret_key, inline or files). The SDK
// asks it on every call and it asks the source every time, with no SDK
// cache in between, so rotated key files take effect without a reload (the
// core's file source looks at its files at most once a second).
type sourceProvider struct {
	src core.CredentialSource
}

// Retrieve returns the current keys, or the core's KindGatewayCredentials
// *Error that classify hands to the core unchanged (503).
func (p sourceProvider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	keys, err := p.src.AccessKeys(ctx)
	if err != nil {
		var coreErr *core.Error
		if errors.As(err, &coreErr) {
			return aws.Credentials{}, coreErr
		}
		return aws.Credentials{}, core.GatewayCredentialsUnavailable(err)
	}
	if keys.AccessKeyID == "" || keys.SecretAccessKey == "" {
		return aws.Credentials{}, core.GatewayCredentialsUnavailable(errors.New("the credential source gave an empty key"))
	}
	return aws.Credentials{
		AccessKeyID:     keys.AccessKeyID,
		SecretAccessKey: keys.SecretAccessKey,
		SessionToken:    keys.SessionToken,
		Source:          "stsgate",
	}, nil
}

// defaultChain is the AWS SDK's default credential chain (environment,
// shared config and credentials files, web identity, ECS, EC2 instance
// role), loaded on the first call rather than at Provision so that
// provisioning stays free of I/O. A failed load is tried again on the next
// call. Its failures read as the core's KindGatewayCredentials (503).
//
// The chain's own calls (IMDS, SSO, STS for a web identity token file) go
// through the SDK's own HTTP client, not the STS client's: they must not
// inherit ca_file or insecure_skip_verify, and the SDK applies AWS_CA_BUNDLE
// only to its own client. Its idle connections close after 90s.
type defaultChain struct {
	region string

	mu       sync.Mutex
	provider aws.CredentialsProvider
}

func newDefaultChain(region string) *defaultChain {
	return &defaultChain{region: region}
}

// Retrieve loads the chain if need be and asks it for credentials; the
// chain caches them until they near expiry.
func (d *defaultChain) Retrieve(ctx context.Context) (aws.Credentials, error) {
	p, err := d.load(ctx)
	if err != nil {
		return aws.Credentials{}, core.GatewayCredentialsUnavailable(err)
	}
	creds, err := p.Retrieve(ctx)
	if err != nil {
		return aws.Credentials{}, core.GatewayCredentialsUnavailable(err)
	}
	return creds, nil
}

func (d *defaultChain) load(ctx context.Context) (aws.CredentialsProvider, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.provider != nil {
		return d.provider, nil
	}
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(d.region))
	if err != nil {
		return nil, err
	}
	if cfg.Credentials == nil {
		return nil, errors.New("the AWS SDK's default credential chain found no credentials")
	}
	d.provider = cfg.Credentials
	return d.provider, nil
}

// Interface guards
var (
	_ aws.CredentialsProvider = sourceProvider{}
	_ aws.CredentialsProvider = (*defaultChain)(nil)
)

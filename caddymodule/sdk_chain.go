package caddymodule

import (
	"context"
	"errors"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/stsgate/stsgate/core"
)

// sdkChain is the gateway's own keys, for assume_role without access_key*,
// from aws-sdk-go-v2's default credential chain: environment, shared config
// and credentials files (profiles, role_arn/source_profile chains, SSO),
// the web identity token file of EKS IRSA, ECS/EKS container credentials,
// then IMDS. It adapts the chain to core.CredentialSource, so that the STS
// calls themselves go through the core's client like every other build's:
// the SDK decides whose keys sign AssumeRole, the core makes the call (the
// split aws-sdk-go-v2's stscreds makes).
//
// The chain is loaded on first use, not at Provision, so provisioning does
// no I/O; a failed load is tried again on the next request. Its provider
// sits behind aws.CredentialsCache, which shares one retrieval among
// concurrent callers and refreshes temporary keys before they expire, so a
// request reaches the chain's own network calls (IMDS, STS for a token
// file) only when the cache needs it. Those calls use the SDK's own HTTP
// client: they must not inherit ca_file or insecure_skip_verify, which are
// about the STS the gateway calls; the SDK reads AWS_CA_BUNDLE for its own.
type sdkChain struct {
	region string

	mu    sync.Mutex
	cache *aws.CredentialsCache
}

func newSDKChain(region string) *sdkChain {
	return &sdkChain{region: region}
}

// AccessKeys returns the chain's current keys, or a KindGatewayCredentials
// error (503) when it has none.
func (d *sdkChain) AccessKeys(ctx context.Context) (core.AccessKeys, error) {
	cache, err := d.load(ctx)
	if err != nil {
		return core.AccessKeys{}, core.GatewayCredentialsUnavailable(err)
	}
	c, err := cache.Retrieve(ctx)
	if err != nil {
		return core.AccessKeys{}, core.GatewayCredentialsUnavailable(err)
	}
	return core.AccessKeys{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken}, nil
}

func (d *sdkChain) load(ctx context.Context) (*aws.CredentialsCache, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cache != nil {
		return d.cache, nil
	}
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(d.region))
	if err != nil {
		return nil, err
	}
	if cfg.Credentials == nil {
		return nil, errors.New("the AWS SDK's default credential chain found no credentials")
	}
	// LoadDefaultConfig caches already; wrap only what it did not.
	cache, ok := cfg.Credentials.(*aws.CredentialsCache)
	if !ok {
		cache = aws.NewCredentialsCache(cfg.Credentials)
	}
	d.cache = cache
	return cache, nil
}

// Interface guard
var _ core.CredentialSource = (*sdkChain)(nil)

package e2e

// The core's STS client (interpreted by Traefik, so written against the
// standard library alone) must sign its requests exactly as aws-sdk-go-v2
// does. The test captures what the client really sends and signs the same
// request with the SDK's v4.Signer at the same time.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/stsgate/stsgate/core"
	"github.com/stsgate/stsgate/internal/fakests"
)

// fixedKeys are gateway keys as a core.CredentialSource, with a session
// token when they are temporary.
type fixedKeys core.AccessKeys

func (k fixedKeys) AccessKeys(context.Context) (core.AccessKeys, error) {
	return core.AccessKeys(k), nil
}

func TestSigV4MatchesAWSSDK(t *testing.T) {
	cases := []struct {
		name   string
		path   string
		keys   core.AccessKeys
		region string
		in     core.AssumeRoleInput
	}{
		{
			name:   "aws with a session policy",
			path:   "/",
			keys:   core.AccessKeys{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"},
			region: "us-east-1",
			in: core.AssumeRoleInput{RoleARN: "arn:aws:iam::123456789012:role/s3-users", SessionName: "alice@example.com", Duration: time.Hour,
				Policy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::home/dave smith/a+b/zoë/*"}]}`},
		},
		{
			name: "temporary gateway keys",
			keys: core.AccessKeys{
				AccessKeyID: "ASIAGATEWAY", SecretAccessKey: "gateway/secret+key",
				SessionToken: "FwoGZXIvYXdzEJr//////////wEaDEXAMPLE+token/with=padding==",
			},
			region: "eu-west-1",
			in:     core.AssumeRoleInput{RoleARN: "arn:aws:iam::123456789012:role/s3-users", SessionName: "bob", Duration: 15 * time.Minute},
		},
		{
			name:   "rgw with a path",
			path:   "/sts/",
			keys:   core.AccessKeys{AccessKeyID: "RGWGATEWAY", SecretAccessKey: "rgw-secret"},
			region: "default",
			in:     core.AssumeRoleInput{RoleARN: "arn:aws:iam:::role/application_abc/component_xyz/S3Access", SessionName: "Jane-Doe--ops-", Duration: time.Hour},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fake, err := fakests.Start(nil)
			if err != nil {
				t.Fatal(err)
			}
			defer fake.Close()
			client, err := core.NewSTSClient(core.Config{STS: core.STSConfig{Endpoint: fake.URL + tc.path, Region: tc.region, Retries: -1}}, fixedKeys(tc.keys))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := client.AssumeRole(context.Background(), tc.in); err != nil {
				t.Fatal(err)
			}
			sent, body := fake.Calls()[0].Request, fake.Calls()[0].Body
			at, err := time.Parse("20060102T150405Z", sent.Header.Get("X-Amz-Date"))
			if err != nil {
				t.Fatalf("X-Amz-Date: %v", err)
			}

			theirs, err := http.NewRequest(http.MethodPost, fake.URL+sent.URL.RequestURI(), bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			theirs.Header.Set("Content-Type", sent.Header.Get("Content-Type"))
			sum := sha256.Sum256(body)
			creds := aws.Credentials{AccessKeyID: tc.keys.AccessKeyID, SecretAccessKey: tc.keys.SecretAccessKey, SessionToken: tc.keys.SessionToken}
			if err := v4.NewSigner().SignHTTP(context.Background(), creds, theirs, hex.EncodeToString(sum[:]), "sts", tc.region, at); err != nil {
				t.Fatal(err)
			}
			for _, h := range []string{"Authorization", "X-Amz-Security-Token"} {
				if got, want := sent.Header.Get(h), theirs.Header.Get(h); got != want {
					t.Errorf("%s\n core: %s\n  sdk: %s", h, got, want)
				}
			}
			if sent.Header.Get("Authorization") == "" {
				t.Error("not signed")
			}
		})
	}
}

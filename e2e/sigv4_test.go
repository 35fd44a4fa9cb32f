package e2e

// The core's SigV4 signer (interpreted by Traefik, so written against the
// standard library alone) must sign STS requests exactly as aws-sdk-go-v2,
// the Caddy build's STS client, does.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/stsgate/stsgate/core"
)

func TestSigV4MatchesAWSSDK(t *testing.T) {
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`
	form := url.Values{
		"Action":          {"AssumeRole"},
		"Version":         {"2011-06-15"},
		"RoleArn":         {"arn:aws:iam::123456789012:role/s3-users"},
		"RoleSessionName": {"alice@example.com"},
		"DurationSeconds": {"3600"},
		"Policy":          {policy},
	}.Encode()
	cases := []struct {
		name     string
		endpoint string
		keys     core.AccessKeys
		region   string
		body     string
		at       time.Time
	}{
		{
			name:     "aws",
			endpoint: "https://sts.amazonaws.com/",
			keys:     core.AccessKeys{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"},
			region:   "us-east-1",
			body:     form,
			at:       time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC),
		},
		{
			name:     "temporary gateway keys",
			endpoint: "https://sts.eu-west-1.amazonaws.com",
			keys: core.AccessKeys{
				AccessKeyID: "ASIAGATEWAY", SecretAccessKey: "gateway/secret+key",
				SessionToken: "FwoGZXIvYXdzEJr//////////wEaDEXAMPLE+token/with=padding==",
			},
			region: "eu-west-1",
			body:   form,
			at:     time.Date(2024, 2, 29, 23, 59, 59, 0, time.UTC),
		},
		{
			name:     "rgw on a port with a path",
			endpoint: "http://rgw.storage.svc:8080/sts/",
			keys:     core.AccessKeys{AccessKeyID: "RGWGATEWAY", SecretAccessKey: "rgw-secret"},
			region:   "default",
			body:     "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A%3Arole%2FS3Access&RoleSessionName=bob",
			at:       time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC),
		},
		{
			name:     "default port",
			endpoint: "https://minio.example.com:443",
			keys:     core.AccessKeys{AccessKeyID: "minioadmin", SecretAccessKey: "minioadmin"},
			region:   "us-east-1",
			body:     "Action=AssumeRole&Version=2011-06-15&DurationSeconds=900",
			at:       time.Date(2025, 6, 15, 8, 30, 0, 0, time.FixedZone("CEST", 2*3600)),
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			newRequest := func() *http.Request {
				req, err := http.NewRequest(http.MethodPost, tc.endpoint, bytes.NewReader([]byte(tc.body)))
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
				return req
			}

			ours := newRequest()
			if err := core.SignSTSRequest(ours, []byte(tc.body), tc.keys, tc.region, tc.at); err != nil {
				t.Fatal(err)
			}

			theirs := newRequest()
			sum := sha256.Sum256([]byte(tc.body))
			creds := aws.Credentials{
				AccessKeyID:     tc.keys.AccessKeyID,
				SecretAccessKey: tc.keys.SecretAccessKey,
				SessionToken:    tc.keys.SessionToken,
			}
			if err := v4.NewSigner().SignHTTP(context.Background(), creds, theirs, hex.EncodeToString(sum[:]), "sts", tc.region, tc.at); err != nil {
				t.Fatal(err)
			}

			for _, h := range []string{"Authorization", "X-Amz-Date", "X-Amz-Security-Token"} {
				if got, want := ours.Header.Get(h), theirs.Header.Get(h); got != want {
					t.Errorf("%s\n core: %s\n  sdk: %s", h, got, want)
				}
			}
			if ours.Host != theirs.Host {
				t.Errorf("Host: core %q, sdk %q", ours.Host, theirs.Host)
			}
			if ours.Header.Get("Authorization") == "" {
				t.Error("not signed")
			}
		})
	}
}

package e2e

// The core's STS client (the one both gateways use) must read every STS
// answer as aws-sdk-go-v2's deserializer does: the same credentials from a
// success, the same error code from a refusal, and a failure for anything
// that is not an STS answer. The answers are the shapes AWS, MinIO and Ceph
// RGW write (RGW's measured on Ceph 16.2). Where the two differ the core is
// the stricter on purpose, and each difference is pinned here: the SDK
// reads RGW's bare S3-style <Error> document as UnknownError (the core
// names RGW's code, which is what an operator needs), and takes a 200 whose
// body is not XML for a success without credentials (the core refuses it).

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/stsgate/stsgate/core"
	"github.com/stsgate/stsgate/internal/fakests"
)

var stsAnswers = []struct {
	name   string
	status int
	body   string
	// code is the refusal's error code, "" for a success; bad marks an
	// answer that is not an STS answer at all.
	code string
	bad  bool
	// sdkCode is what the SDK reports instead of code, where it differs;
	// sdkEmpty marks a bad answer the SDK takes for an empty success.
	sdkCode  string
	sdkEmpty bool
}{
	{"AWS success", 200, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/s3/jane</Arn><AssumedRoleId>AROA:jane</AssumedRoleId></AssumedRoleUser>
    <Credentials>
      <AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId>
      <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>
      <SessionToken>IQoJb3JpZ2luX2VjEXAMPLE+token/with==</SessionToken>
      <Expiration>2030-01-02T03:04:05Z</Expiration>
    </Credentials>
  </AssumeRoleResult>
  <ResponseMetadata><RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ResponseMetadata>
</AssumeRoleResponse>`, "", false, "", false},
	{"MinIO success", 200, `<?xml version="1.0" encoding="UTF-8"?>
<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><AssumedRoleUser><Arn></Arn><AssumeRoleId></AssumeRoleId></AssumedRoleUser><Credentials><AccessKeyId>Q3AM3UQ867SPQQA43P2F</AccessKeyId><SecretAccessKey>zuf+tfteSlswRu7BJ86wekitnifILbZam1KYY3TG</SecretAccessKey><SessionToken>eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9.eyJhY2Nlc3NLZXkiOiJRM0FNM1VRODY3In0.sig</SessionToken><Expiration>2030-01-02T03:04:05Z</Expiration></Credentials></AssumeRoleResult><ResponseMetadata><RequestId>1803F8E1E4F0C0E0</RequestId></ResponseMetadata></AssumeRoleResponse>`, "", false, "", false},
	{"RGW success", 200, `<?xml version="1.0" encoding="UTF-8"?><AssumeRoleResponse><AssumeRoleResult><AssumedRoleUser><Arn>arn:aws:sts:::assumed-role/application_abc/component_xyz/S3Access/jane</Arn><AssumedRoleId>5f4e6a8b:jane</AssumedRoleId></AssumedRoleUser><Credentials><AccessKeyId>kWtIeV5WF0vVwC4dhq2</AccessKeyId><Expiration>2030-01-02T03:04:05.971803542Z</Expiration><SecretAccessKey>0UZD15H3I4T3O7ZHPYT4E050KC7IECOROM1TJL8</SecretAccessKey><SessionToken>RLiK0tfmZmT3p3mWFAx7JgbK9N9MOTR5/7vIwYO/N5W6D8TR+o5z==</SessionToken></Credentials><PackedPolicySize>0</PackedPolicySize></AssumeRoleResult></AssumeRoleResponse>`, "", false, "", false},
	{"AWS refusal", 403, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User is not authorized to perform: sts:AssumeRole</Message></Error><RequestId>4b8b7b8b-0000-4000-8000-000000000000</RequestId></ErrorResponse>`, "AccessDenied", false, "", false},
	{"AWS validation error", 400, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>ValidationError</Code><Message>The requested DurationSeconds exceeds the MaxSessionDuration set for this role.</Message></Error><RequestId>r-1</RequestId></ErrorResponse>`, "ValidationError", false, "", false},
	{"MinIO refusal", 403, `<?xml version="1.0" encoding="UTF-8"?>
<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type></Type><Code>AccessDenied</Code><Message>Access Denied.</Message></Error><RequestId>1803F8E1E4F0C0E1</RequestId></ErrorResponse>`, "AccessDenied", false, "", false},
	{"RGW no such role", 404, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchEntity</Code><Message></Message><RequestId>tx00000a1b2c3d4e5f6-006b0c0517-100a-default</RequestId><HostId>100a-default-default</HostId></Error>`, "NoSuchEntity", false, "UnknownError", false},
	{"RGW invalid argument", 400, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidArgument</Code><Message></Message><RequestId>tx00000a1b2c3d4e5f7-006b0c0517-100a-default</RequestId><HostId>100a-default-default</HostId></Error>`, "InvalidArgument", false, "UnknownError", false},
	{"a proxy's HTML", 502, `<html><body><h1>502 Bad Gateway</h1></body></html>`, "", true, "", false},
	{"not XML", 200, `hello`, "", true, "", true},
}

func TestSTSAnswersReadAsTheSDKReadsThem(t *testing.T) {
	keys := core.CredentialsConfig{AccessKey: "AKIDEXAMPLE", SecretKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}
	in := core.AssumeRoleInput{RoleARN: "arn:aws:iam:::role/s3", SessionName: "jane", Duration: time.Hour}
	for _, a := range stsAnswers {
		t.Run(a.name, func(t *testing.T) {
			srv, err := fakests.Start(func(_ int, w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "text/xml")
				w.WriteHeader(a.status)
				_, _ = w.Write([]byte(a.body))
			})
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()

			src, err := core.NewCredentialSource(keys)
			if err != nil {
				t.Fatal(err)
			}
			ours, err := core.NewSTSClient(core.Config{STS: core.STSConfig{Endpoint: srv.URL, Region: "us-east-1", Retries: -1}}, src)
			if err != nil {
				t.Fatal(err)
			}
			got, coreErr := ours.AssumeRole(ctx, in)

			sdk := sts.New(sts.Options{
				Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), RetryMaxAttempts: 1,
				Credentials: credentials.NewStaticCredentialsProvider(keys.AccessKey, keys.SecretKey, ""),
			})
			out, sdkErr := sdk.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(in.RoleARN), RoleSessionName: aws.String(in.SessionName)})

			switch {
			case a.bad:
				sdkFailed := sdkErr != nil || (a.sdkEmpty && out.Credentials == nil)
				if coreErr == nil || !sdkFailed {
					t.Fatalf("not an STS answer: core %v, SDK %v; want both to fail", coreErr, sdkErr)
				}
				var e *core.Error
				if !errors.As(coreErr, &e) || e.Kind != core.KindSTSBadAnswer {
					t.Errorf("core: %v, want a bad answer", coreErr)
				}
			case a.code != "":
				want := a.code
				if a.sdkCode != "" {
					want = a.sdkCode
				}
				var apiErr smithy.APIError
				if sdkErr == nil || !errors.As(sdkErr, &apiErr) || apiErr.ErrorCode() != want {
					t.Fatalf("SDK: %v, want code %s", sdkErr, want)
				}
				var e *core.Error
				if !errors.As(coreErr, &e) || e.Kind != core.KindSTSRejected || !strings.Contains(e.Detail, ": "+a.code) {
					t.Errorf("core: %v, want a refusal naming %s", coreErr, a.code)
				}
				if msg := apiErr.ErrorMessage(); a.sdkCode == "" && msg != "" && !strings.Contains(e.Detail, msg) {
					t.Errorf("core detail %q lacks the SDK's message %q", e.Detail, msg)
				}
			default:
				if coreErr != nil || sdkErr != nil {
					t.Fatalf("success: core %v, SDK %v", coreErr, sdkErr)
				}
				c := out.Credentials
				if got.AccessKeyID != aws.ToString(c.AccessKeyId) || got.SecretAccessKey != aws.ToString(c.SecretAccessKey) ||
					got.SessionToken != aws.ToString(c.SessionToken) {
					t.Errorf("keys differ: core %+v, SDK %+v", got, c)
				}
				if d := got.Expiration.Sub(aws.ToTime(c.Expiration)); d < -time.Millisecond || d > time.Millisecond {
					t.Errorf("Expiration: core %s, SDK %s", got.Expiration, aws.ToTime(c.Expiration))
				}
			}
		})
	}
}

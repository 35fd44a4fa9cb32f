package core

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// Sample answers in the shapes AWS, MinIO and Ceph RGW send.

const awsAssumeRoleXML = `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
  <SourceIdentity>Alice</SourceIdentity>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::123456789012:assumed-role/demo/TestAR</Arn>
      <AssumedRoleId>ARO123EXAMPLE123:TestAR</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId>
      <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>
      <SessionToken>
       AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQW
       LWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGd
      </SessionToken>
      <Expiration>2019-11-09T13:34:41Z</Expiration>
    </Credentials>
    <PackedPolicySize>6</PackedPolicySize>
  </AssumeRoleResult>
  <ResponseMetadata>
    <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId>
  </ResponseMetadata>
</AssumeRoleResponse>`

const awsWebIdentityXML = `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <SubjectFromWebIdentityToken>amzn1.account.AF6RHO7KZU5XRVQJGXK6HB56KR2A</SubjectFromWebIdentityToken>
    <Audience>client.5498841531868486423.1548@apps.example.com</Audience>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::123456789012:assumed-role/FederatedWebIdentityRole/app1</Arn>
      <AssumedRoleId>AROACLKWSDQRAOEXAMPLE:app1</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <SessionToken>AQoDYXdzEE0a8ANXXXXXXXXNO1ewxE5TijQyp+IEXAMPLE</SessionToken>
      <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>
      <Expiration>2014-10-24T23:00:23.359Z</Expiration>
      <AccessKeyId>ASgeIAIOSFODNN7EXAMPLE</AccessKeyId>
    </Credentials>
    <SourceIdentity>SourceIdentityValue</SourceIdentity>
    <Provider>www.amazon.com</Provider>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata>
    <RequestId>ad4156e9-bce1-11e2-82e6-6b6efEXAMPLE</RequestId>
  </ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>`

const minioWebIdentityXML = `<?xml version="1.0" encoding="UTF-8"?>
<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleWithWebIdentityResult><AssumedRoleUser><Arn></Arn><AssumeRoleId></AssumeRoleId></AssumedRoleUser><Credentials><AccessKeyId>Y4RJU1RNFGK48LGO9I2S</AccessKeyId><SecretAccessKey>sYLRKS1Z7hSjluf6gEbb9066hnx315wHTiACPAjg</SecretAccessKey><Expiration>2019-08-08T20:26:12Z</Expiration><SessionToken>eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9.eyJhY2Nlc3NLZXkiOiJZNFJKVTFSTkZHSzQ4TEdPOUkyUyJ9.example</SessionToken></Credentials><SubjectFromWebIdentityToken>alice</SubjectFromWebIdentityToken></AssumeRoleWithWebIdentityResult><ResponseMetadata><RequestId>15B4A7C3E8F2D6A1</RequestId></ResponseMetadata></AssumeRoleWithWebIdentityResponse>`

const minioAssumeRoleXML = `<?xml version="1.0" encoding="UTF-8"?>
<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><AssumedRoleUser><Arn></Arn><AssumeRoleId></AssumeRoleId></AssumedRoleUser><Credentials><AccessKeyId>MINIOTEMPKEY123</AccessKeyId><SecretAccessKey>miniotempsecret456</SecretAccessKey><Expiration>2024-05-01T13:00:00Z</Expiration><SessionToken>minio.session.token</SessionToken></Credentials></AssumeRoleResult><ResponseMetadata><RequestId>17C9A7F3C2B5D0E1</RequestId></ResponseMetadata></AssumeRoleResponse>`

// Ceph RGW writes nanoseconds and, depending on the release, no namespace.
const rgwAssumeRoleXML = `<?xml version="1.0" encoding="UTF-8"?><AssumeRoleResponse><AssumeRoleResult><AssumedRoleUser><Arn>arn:aws:sts::tenant:assumed-role/S3Access/alice</Arn><AssumedRoleId>AROA:alice</AssumedRoleId></AssumedRoleUser><Credentials><AccessKeyId>RGWTEMPKEY</AccessKeyId><Expiration>2024-05-01T13:00:00.123456789Z</Expiration><SecretAccessKey>rgwtempsecret</SecretAccessKey><SessionToken>rgw+session/token==</SessionToken></Credentials><PackedPolicySize>0</PackedPolicySize></AssumeRoleResult><ResponseMetadata><RequestId>tx000000a1b2c3d4e5f6-0066320000-1234-default</RequestId></ResponseMetadata></AssumeRoleResponse>`

const awsAccessDeniedXML = `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error>
    <Type>Sender</Type>
    <Code>AccessDenied</Code>
    <Message>User: arn:aws:iam::123456789012:user/gateway is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::123456789012:role/s3-users</Message>
  </Error>
  <RequestId>4a0f8ed1-2b7a-4f0c-9a63-EXAMPLE</RequestId>
</ErrorResponse>`

const minioErrorXML = `<?xml version="1.0" encoding="UTF-8"?>
<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type></Type><Code>InvalidParameterValue</Code><Message>Token expired</Message></Error><RequestId>17C9A7F3C2B5D0E2</RequestId></ErrorResponse>`

const rgwErrorXML = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message></Message><RequestId>tx0000012345-0066320000-1234-default</RequestId><HostId>1234-default-default</HostId></Error>`

func TestParseSTSAssumeRoleResponse(t *testing.T) {
	cases := []struct {
		name string
		body string
		want Credentials
	}{
		{"aws assume role", awsAssumeRoleXML, Credentials{
			AccessKeyID:     "ASIAIOSFODNN7EXAMPLE",
			SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY",
			SessionToken: "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQW" +
				"LWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGd",
			Expiration: time.Date(2019, 11, 9, 13, 34, 41, 0, time.UTC),
		}},
		{"aws web identity", awsWebIdentityXML, Credentials{
			AccessKeyID:     "ASgeIAIOSFODNN7EXAMPLE",
			SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY",
			SessionToken:    "AQoDYXdzEE0a8ANXXXXXXXXNO1ewxE5TijQyp+IEXAMPLE",
			Expiration:      time.Date(2014, 10, 24, 23, 0, 23, 359000000, time.UTC),
		}},
		{"minio web identity", minioWebIdentityXML, Credentials{
			AccessKeyID:     "Y4RJU1RNFGK48LGO9I2S",
			SecretAccessKey: "sYLRKS1Z7hSjluf6gEbb9066hnx315wHTiACPAjg",
			SessionToken:    "eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9.eyJhY2Nlc3NLZXkiOiJZNFJKVTFSTkZHSzQ4TEdPOUkyUyJ9.example",
			Expiration:      time.Date(2019, 8, 8, 20, 26, 12, 0, time.UTC),
		}},
		{"minio assume role", minioAssumeRoleXML, Credentials{
			AccessKeyID:     "MINIOTEMPKEY123",
			SecretAccessKey: "miniotempsecret456",
			SessionToken:    "minio.session.token",
			Expiration:      time.Date(2024, 5, 1, 13, 0, 0, 0, time.UTC),
		}},
		{"rgw assume role", rgwAssumeRoleXML, Credentials{
			AccessKeyID:     "RGWTEMPKEY",
			SecretAccessKey: "rgwtempsecret",
			SessionToken:    "rgw+session/token==",
			Expiration:      time.Date(2024, 5, 1, 13, 0, 0, 123456789, time.UTC),
		}},
		{"prefixed namespace", `<sts:AssumeRoleResponse xmlns:sts="https://sts.amazonaws.com/doc/2011-06-15/"><sts:AssumeRoleResult><sts:Credentials><sts:AccessKeyId>AK</sts:AccessKeyId><sts:SecretAccessKey>SK</sts:SecretAccessKey><sts:SessionToken>ST</sts:SessionToken><sts:Expiration>2030-01-02T03:04:05+02:00</sts:Expiration></sts:Credentials></sts:AssumeRoleResult></sts:AssumeRoleResponse>`, Credentials{
			AccessKeyID: "AK", SecretAccessKey: "SK", SessionToken: "ST",
			Expiration: time.Date(2030, 1, 2, 1, 4, 5, 0, time.UTC),
		}},
		{"no zone is UTC", `<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>AK</AccessKeyId><SecretAccessKey>SK</SecretAccessKey><SessionToken>ST</SessionToken><Expiration> 2030-01-02T03:04:05.5 </Expiration></Credentials></AssumeRoleResult></AssumeRoleResponse>`, Credentials{
			AccessKeyID: "AK", SecretAccessKey: "SK", SessionToken: "ST",
			Expiration: time.Date(2030, 1, 2, 3, 4, 5, 500000000, time.UTC),
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseAssumeRoleResponse([]byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if got.AccessKeyID != tc.want.AccessKeyID || got.SecretAccessKey != tc.want.SecretAccessKey ||
				got.SessionToken != tc.want.SessionToken || !got.Expiration.Equal(tc.want.Expiration) {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
			if got.Expiration.Location() != time.UTC {
				t.Errorf("Expiration not in UTC: %v", got.Expiration)
			}
		})
	}
}

func TestParseSTSAnswerRefusals(t *testing.T) {
	long := strings.Repeat("é", 150) // 300 bytes
	cases := []struct {
		name       string
		status     int
		body       string
		kind       Kind
		wantDetail string // exact, when set
		wantPrefix string
	}{
		{name: "aws access denied", status: 403, body: awsAccessDeniedXML, kind: KindSTSRejected,
			wantDetail: "STS refused the request: AccessDenied: User: arn:aws:iam::123456789012:user/gateway is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::123456789012:role/s3-users"},
		{name: "minio error", status: 400, body: minioErrorXML, kind: KindSTSRejected,
			wantDetail: "STS refused the request: InvalidParameterValue: Token expired"},
		{name: "rgw s3-style error", status: 403, body: rgwErrorXML, kind: KindSTSRejected,
			wantDetail: "STS refused the request: AccessDenied"},
		{name: "error document with 200", status: 200, body: minioErrorXML, kind: KindSTSRejected,
			wantDetail: "STS refused the request: InvalidParameterValue: Token expired"},
		{name: "5xx error document", status: 500, body: `<ErrorResponse><Error><Code>InternalError</Code><Message>try
	again</Message></Error></ErrorResponse>`, kind: KindSTSRejected,
			wantDetail: "STS refused the request: InternalError: try again"},
		{name: "long message", status: 400, body: "<ErrorResponse><Error><Code>ValidationError</Code><Message>" + long + "</Message></Error></ErrorResponse>",
			kind: KindSTSRejected, wantPrefix: "STS refused the request: ValidationError: éé"},
		{name: "empty", status: 200, body: "", kind: KindSTSBadAnswer},
		{name: "whitespace", status: 200, body: " \n ", kind: KindSTSBadAnswer},
		{name: "plain text", status: 502, body: "Bad Gateway", kind: KindSTSBadAnswer},
		{name: "html", status: 200, body: "<!DOCTYPE html><html><body>login</body></html>", kind: KindSTSBadAnswer},
		{name: "json", status: 200, body: `{"Credentials":{}}`, kind: KindSTSBadAnswer},
		{name: "truncated", status: 200, body: `<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>AK`, kind: KindSTSBadAnswer},
		{name: "credentials with failure status", status: 400, body: minioAssumeRoleXML, kind: KindSTSBadAnswer},
		{name: "no credentials", status: 200, body: `<AssumeRoleResponse><AssumeRoleResult></AssumeRoleResult></AssumeRoleResponse>`, kind: KindSTSBadAnswer},
		{name: "no session token", status: 200, body: strings.Replace(minioAssumeRoleXML, "<SessionToken>minio.session.token</SessionToken>", "", 1), kind: KindSTSBadAnswer},
		{name: "no secret", status: 200, body: strings.Replace(minioAssumeRoleXML, "<SecretAccessKey>miniotempsecret456</SecretAccessKey>", "<SecretAccessKey> </SecretAccessKey>", 1), kind: KindSTSBadAnswer},
		{name: "no expiration", status: 200, body: strings.Replace(minioAssumeRoleXML, "<Expiration>2024-05-01T13:00:00Z</Expiration>", "", 1), kind: KindSTSBadAnswer},
		{name: "bad expiration", status: 200, body: strings.Replace(minioAssumeRoleXML, "2024-05-01T13:00:00Z", "tomorrow", 1), kind: KindSTSBadAnswer},
		{name: "other action", status: 200, body: `<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>x</Arn></GetCallerIdentityResult></GetCallerIdentityResponse>`, kind: KindSTSBadAnswer},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parseSTSAnswer(tc.status, []byte(tc.body), nil)
			if err == nil {
				t.Fatalf("no error, got %+v", c)
			}
			e, ok := err.(*Error)
			if !ok {
				t.Fatalf("error %T is not *Error: %v", err, err)
			}
			if e.Kind != tc.kind {
				t.Errorf("kind %v, want %v (%v)", e.Kind, tc.kind, e)
			}
			if tc.wantDetail != "" && e.Detail != tc.wantDetail {
				t.Errorf("detail\n got: %q\nwant: %q", e.Detail, tc.wantDetail)
			}
			if tc.wantPrefix != "" && !strings.HasPrefix(e.Detail, tc.wantPrefix) {
				t.Errorf("detail %q lacks prefix %q", e.Detail, tc.wantPrefix)
			}
			if !utf8.ValidString(e.Detail) || strings.ContainsAny(e.Detail, "\n\r\t") {
				t.Errorf("detail is not one clean line: %q", e.Detail)
			}
			if len(e.Detail) > len("STS refused the request: ValidationError: ")+maxSTSMessage {
				t.Errorf("detail too long (%d bytes): %q", len(e.Detail), e.Detail)
			}
			if c != (Credentials{}) {
				t.Errorf("credentials with an error: %+v", c)
			}
		})
	}
}

func TestSTSRejectedRedactsRequestValues(t *testing.T) {
	token := "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"
	body := "<ErrorResponse><Error><Code>InvalidIdentityToken</Code><Message>cannot parse token " + token +
		" (" + strings.Repeat("x", 300) + ")</Message></Error></ErrorResponse>"
	_, err := parseSTSAnswer(400, []byte(body), []string{token, "", "short"})
	e, ok := err.(*Error)
	if !ok || e.Kind != KindSTSRejected {
		t.Fatalf("got %v", err)
	}
	if strings.Contains(e.Error(), token) || strings.Contains(e.Error(), token[:20]) {
		t.Errorf("token leaked: %q", e.Error())
	}
	if !strings.HasPrefix(e.Detail, "STS refused the request: InvalidIdentityToken: cannot parse token [redacted] (xxx") ||
		!strings.HasSuffix(e.Detail, "…") {
		t.Errorf("detail %q", e.Detail)
	}
}

func TestReadSTSAnswerLimit(t *testing.T) {
	ok, err := readSTSAnswer(bytes.NewReader(make([]byte, maxSTSAnswer)))
	if err != nil || len(ok) != maxSTSAnswer {
		t.Fatalf("1 MiB: %d bytes, %v", len(ok), err)
	}
	_, err = readSTSAnswer(bytes.NewReader(make([]byte, maxSTSAnswer+1)))
	if e, isErr := err.(*Error); !isErr || e.Kind != KindSTSBadAnswer {
		t.Fatalf("1 MiB + 1: %v", err)
	}
}

func TestSTSTruncateText(t *testing.T) {
	cases := []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"abcdefghijkl", 10, "abcdefg…"},
		{"ééééé", 8, "éé…"}, // no half character before the mark
	}
	for _, tc := range cases {
		got := truncateText(tc.in, tc.n)
		if got != tc.want || len(got) > tc.n || !utf8.ValidString(got) {
			t.Errorf("truncateText(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

func BenchmarkParseAssumeRoleResponse(b *testing.B) {
	body := []byte(awsAssumeRoleXML)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for i := 0; i < b.N; i++ {
		if _, err := parseAssumeRoleResponse(body); err != nil {
			b.Fatal(err)
		}
	}
}

// parseAssumeRoleResponse reads the credentials out of a successful
// AssumeRole or AssumeRoleWithWebIdentity answer.
func parseAssumeRoleResponse(body []byte) (Credentials, error) {
	return parseSTSAnswer(200, body, nil)
}

func TestStripSpace(t *testing.T) {
	if len(visibleASCII) != 94 {
		t.Fatalf("visibleASCII holds %d characters, want the 94 from ! to ~", len(visibleASCII))
	}
	for c := byte('!'); c <= '~'; c++ {
		if strings.IndexByte(visibleASCII, c) < 0 {
			t.Errorf("visibleASCII lacks %q", c)
		}
	}
	for in, want := range map[string]string{
		"ASIA/key+0=":      "ASIA/key+0=",
		" tok\nen \t":      "token",
		"to\u00a0ken":      "token",
		"tok\u3000en":      "token",
		"":                 "",
		"only-visible~!@#": "only-visible~!@#",
	} {
		if got := stripSpace(in); got != want {
			t.Errorf("stripSpace(%q) = %q, want %q", in, got, want)
		}
	}
}

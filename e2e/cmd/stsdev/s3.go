package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/stsgate/stsgate/internal/conformance"
)

// cmdS3 uses a Token document's credentials against its S3 endpoint.
func cmdS3(args []string, stdin io.Reader, stdout io.Writer) error {
	fs := newFlagSet("s3", "s3 -creds FILE|- [-endpoint URL] put|get|ls [bucket[/key]]\n\n"+
		"  put bucket/key  create the bucket if needed, write the object (-body), read it back\n"+
		"  get bucket/key  print the object\n"+
		"  ls [bucket]     list the buckets, or the objects in bucket")
	credsPath := fs.String("creds", "", `file holding the Token document (the JSON of PUT /apis/sts/token), or "-" for standard input`)
	endpoint := fs.String("endpoint", "", "S3 endpoint (default: the document's EndpointURL)")
	region := fs.String("region", "us-east-1", "region the requests are signed for")
	body := fs.String("body", "", `object body for put (default: "hello from stsdev at <time>")`)
	timeout := fs.Duration("timeout", 30*time.Second, "bound on the whole command")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *credsPath == "" || fs.NArg() < 1 {
		fs.Usage()
		return errors.New("s3: -creds and an operation are required")
	}
	doc, err := readTokenDocument(*credsPath, stdin)
	if err != nil {
		return err
	}
	if *endpoint == "" {
		*endpoint = doc.Credentials.EndpointURL
	}
	if *endpoint == "" {
		return errors.New("s3: the document has no EndpointURL; give -endpoint")
	}
	c := doc.Credentials
	client := s3.New(s3.Options{
		Region:       *region,
		BaseEndpoint: aws.String(*endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(c.AccessKeyId, c.SecretAccessKey, c.SessionToken),
	})
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	fmt.Fprintf(stdout, "s3: %s as %s (expires %s)\n", *endpoint, c.AccessKeyId, c.Expiration)

	op, target := fs.Arg(0), fs.Arg(1)
	bucket, key, _ := strings.Cut(target, "/")
	switch op {
	case "put":
		if bucket == "" || key == "" {
			return errors.New("s3 put: want bucket/key")
		}
		if *body == "" {
			*body = "hello from stsdev at " + time.Now().UTC().Format(time.RFC3339) + "\n"
		}
		return s3Put(ctx, client, bucket, key, *body, stdout)
	case "get":
		if bucket == "" || key == "" {
			return errors.New("s3 get: want bucket/key")
		}
		got, err := s3Get(ctx, client, bucket, key)
		if err != nil {
			return err
		}
		_, err = io.WriteString(stdout, got)
		return err
	case "ls":
		return s3List(ctx, client, bucket, stdout)
	default:
		return fmt.Errorf("s3: unknown operation %q (put, get or ls)", op)
	}
}

func readTokenDocument(path string, stdin io.Reader) (conformance.TokenDocument, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(stdin)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return conformance.TokenDocument{}, err
	}
	var doc conformance.TokenDocument
	if err := json.Unmarshal(data, &doc); err != nil {
		return conformance.TokenDocument{}, fmt.Errorf("s3: -creds is not a Token document: %v", err)
	}
	if doc.Credentials.AccessKeyId == "" || doc.Credentials.SecretAccessKey == "" {
		return conformance.TokenDocument{}, fmt.Errorf("s3: -creds holds no credentials: %.200s", data)
	}
	return doc, nil
}

func s3Put(ctx context.Context, client *s3.Client, bucket, key, body string, stdout io.Writer) error {
	_, err := client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)})
	if err != nil {
		if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
			var owned *types.BucketAlreadyOwnedByYou
			if !errors.As(err, &owned) {
				return fmt.Errorf("create bucket %s: %w", bucket, err)
			}
		} else {
			fmt.Fprintf(stdout, "created bucket %s\n", bucket)
		}
	}
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body),
	}); err != nil {
		return fmt.Errorf("put %s/%s: %w", bucket, key, err)
	}
	fmt.Fprintf(stdout, "put %s/%s (%d bytes)\n", bucket, key, len(body))
	got, err := s3Get(ctx, client, bucket, key)
	if err != nil {
		return err
	}
	if got != body {
		return fmt.Errorf("read back %s/%s: got %q, wrote %q", bucket, key, got, body)
	}
	fmt.Fprintf(stdout, "read back %s/%s: %q\n", bucket, key, got)
	return nil
}

func s3Get(ctx context.Context, client *s3.Client, bucket, key string) (string, error) {
	out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return "", fmt.Errorf("get %s/%s: %w", bucket, key, err)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(out.Body)
	return string(data), err
}

func s3List(ctx context.Context, client *s3.Client, bucket string, stdout io.Writer) error {
	if bucket == "" {
		out, err := client.ListBuckets(ctx, &s3.ListBucketsInput{})
		if err != nil {
			return fmt.Errorf("list buckets: %w", err)
		}
		for _, b := range out.Buckets {
			fmt.Fprintln(stdout, aws.ToString(b.Name))
		}
		return nil
	}
	p := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list %s: %w", bucket, err)
		}
		for _, o := range page.Contents {
			fmt.Fprintf(stdout, "%10d  %s/%s\n", aws.ToInt64(o.Size), bucket, aws.ToString(o.Key))
		}
	}
	return nil
}

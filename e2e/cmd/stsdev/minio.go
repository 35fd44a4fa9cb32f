package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"time"

	"github.com/minio/madmin-go/v3"
)

// cmdMinIOSetup creates (or updates) a MinIO user and attaches a policy to
// it: the gateway's own keys of the demo. It waits for MinIO's admin API.
func cmdMinIOSetup(args []string, stdout io.Writer) error {
	fs := newFlagSet("minio-setup", "minio-setup -endpoint URL -root-user U -root-password P -user A -secret S [-policy NAME] [-policy-file F]")
	endpoint := fs.String("endpoint", "", "MinIO URL, e.g. http://127.0.0.1:9000")
	rootUser := fs.String("root-user", os.Getenv("MINIO_ROOT_USER"), "MinIO root user (default $MINIO_ROOT_USER)")
	rootPassword := fs.String("root-password", os.Getenv("MINIO_ROOT_PASSWORD"), "MinIO root password (default $MINIO_ROOT_PASSWORD)")
	user := fs.String("user", "", "access key of the user to create")
	secret := fs.String("secret", "", "secret key of the user")
	policy := fs.String("policy", "readwrite", "policy attached to the user (a built-in one, or the one -policy-file creates)")
	policyFile := fs.String("policy-file", "", "a policy JSON document to create under the -policy name first")
	wait := fs.Duration("wait", time.Minute, "how long to wait for MinIO's admin API")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *endpoint == "" || *rootUser == "" || *rootPassword == "" || *user == "" || *secret == "" {
		fs.Usage()
		return errors.New("minio-setup: -endpoint, -root-user, -root-password, -user and -secret are required")
	}
	u, err := url.Parse(*endpoint)
	if err != nil || u.Host == "" {
		return fmt.Errorf("minio-setup: -endpoint %q is not a URL", *endpoint)
	}
	admin, err := madmin.New(u.Host, *rootUser, *rootPassword, u.Scheme == "https")
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), *wait)
	defer cancel()
	for {
		_, err := admin.ListUsers(ctx)
		if err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("minio-setup: admin API not ready: %v", err)
		case <-time.After(250 * time.Millisecond):
		}
	}
	if *policyFile != "" {
		doc, err := os.ReadFile(*policyFile)
		if err != nil {
			return err
		}
		if err := admin.AddCannedPolicy(ctx, *policy, doc); err != nil {
			return fmt.Errorf("minio-setup: create policy %s: %w", *policy, err)
		}
		fmt.Fprintf(stdout, "policy %s created from %s\n", *policy, *policyFile)
	}
	if err := admin.AddUser(ctx, *user, *secret); err != nil {
		return fmt.Errorf("minio-setup: add user %s: %w", *user, err)
	}
	if _, err := admin.AttachPolicy(ctx, madmin.PolicyAssociationReq{Policies: []string{*policy}, User: *user}); err != nil {
		// Attaching a policy the user already has is refused; that is fine.
		if !isAlreadyAttached(err) {
			return fmt.Errorf("minio-setup: attach %s to %s: %w", *policy, *user, err)
		}
	}
	fmt.Fprintf(stdout, "user %s has policy %s\n", *user, *policy)
	return nil
}

func isAlreadyAttached(err error) bool {
	var resp madmin.ErrorResponse
	return errors.As(err, &resp) && resp.Code == "XMinioAdminPolicyChangeAlreadyApplied"
}

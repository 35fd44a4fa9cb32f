//go:build stsbench

package e2e

// MinIO for BenchmarkGateways is the e2e harness's (startMinIO): root keys
// sign AssumeRole, and its OpenID trust in the benchmark's IdP gives web
// identity a claim-based policy.

// minioPolicy is the policy the benchmark's tokens name in MinIO's policy
// claim (minioClaimPolicy).
const minioPolicy = "readwrite"

// Package core is stsgate's issuer, independent of any gateway: it answers
// PUT {prefix}/token, GET {prefix}/healthz and GET {prefix}/credentials
// (Issuer), validates bearer JWTs (tokenVerifier, with the key sources of
// keys*.go), and calls the STS with its own
// standard-library client (STSClient: SigV4, the Query API, retries).
// The Caddy module and the Traefik plugin are thin adapters around it;
// docs/api.md is the API it serves.
//
// # Rules for code here
//
// Traefik runs this package under its Go interpreter, yaegi v0.16.1, so the
// package imports only the Go 1.22 standard library and golang-jwt, starts
// no goroutine of its own, and avoids the constructs docs/yaegi.md lists
// (among them: assigning a jwt.Claims interface to a claims struct, and
// `any` fields in structs that are copied). Its behaviour tests run compiled
// and interpreted (e2e/yaegi_core_test.go).
//
// # How the per-request path is written
//
// Under yaegi the costs are not those of compiled Go. Measured on the token
// path (e2e's BenchmarkHandlerInterpreted, and BENCHMARKS.md):
//
//   - A call of a method of one of our types copies the method's syntax
//     node and builds a reflect func value: about 30 allocations, four times
//     a plain function call. A call of an interpreted method through an
//     interface (STS, CredentialSource) costs about 60 allocations and
//     several microseconds more.
//   - Every struct-valued expression is a copy in a slot of its own, and a.b.c
//     copies a.b on the way. Structs read per request are held by pointer
//     (Issuer.cfg, STSClient.signing, the signing keys), and a nested field
//     read on every call is kept apart (Issuer.stsTimeout).
//   - A call allocates every local and temporary of the function, whether its
//     branch runs or not.
//   - Every library call costs about a microsecond and ten allocations, and a
//     concatenation less than a strings.Builder call.
//
// Hence one naming rule for the two halves of the path. A step every
// request takes is a plain function with its receiver as the first argument,
// named for the step: serveToken(i, ...), verifyToken(v, ...), issue(i,
// ...), callSTS(i, ...), stsAttempt(c, ...); exported methods such as
// Verify and AssumeRole delegate to them. What only a refusal, a miss or a
// failure needs is a method of the same receiver (v.verifyFull,
// i.stsFailed, c.answerFailed, c.retry) or a function without one
// (bearerTokenOf, stsDocument), so the step itself holds none of its
// locals and pays for a method call only when it runs. The Issuer calls the
// core's own STS client without the STS interface (Issuer.stdSTS), and the
// client reads its inline or file keys the same way (staticKeys, fileKeys);
// other implementations go through the interfaces. Headers whose keys are
// canonical are set straight into the map, and the client signs with its
// endpoint's parts of the canonical request worked out once
// (signForEndpoint).
//
// e2e's TestInterpretedTokenPathAllocationBudget holds the interpreted token
// path to an allocation budget. Compiled, none of this costs anything worth
// measuring; the core's own benchmarks stay the reference for the Caddy
// build.
package core

package core

// How the per-request path is written, and why.
//
// Traefik runs this package under yaegi v0.16.1, where the costs are not
// those of compiled Go. Measured on the token path (e2e's
// BenchmarkHandlerInterpreted, and the findings in BENCHMARKS.md):
//
//   - A call of a method of one of our types copies the method's syntax
//     node and builds a reflect func value: about 30 allocations, four times
//     a plain function call. The per-request path is therefore made of
//     functions taking the receiver as their first argument
//     (serveToken(i, w, r, route), verifyToken(v, ctx, raw), stsAttempt(c, ...));
//     exported methods such as Verify and AssumeRole delegate to them.
//   - A call of an interpreted method through an interface (STS,
//     CredentialSource) goes through a reflect-made wrapper of the method:
//     reflect.Value.Call and back, about 60 allocations and several
//     microseconds. The Issuer keeps the core's own STS client as such
//     (stdSTS) and calls assumeRole on it; the client keeps its inline or
//     file keys the same way (staticKeys, fileKeys). Other STS
//     implementations still go through the interface.
//   - Every struct-valued expression is a copy in a slot of its own: reading
//     i.cfg.Duration copied the whole Config (about 470 bytes) when cfg was
//     a value, and a.b.c copies a.b on the way. Structs read per request are
//     held by pointer (Issuer.cfg, STSClient.signing, the signing keys), and
//     a nested field read on every call is kept apart (Issuer.stsTimeout).
//   - A call allocates every local and temporary of the function, whether
//     its branch runs or not. Refusals and other cold work live in functions
//     of their own (bearerTokenOf, verifyFull, finishRequest, stsFailed,
//     answerFailed, classifySTSAnswer), so the common case pays only for
//     what it uses.
//   - Every library call costs about a microsecond and ten allocations, and
//     a concatenation less than a strings.Builder call. Headers whose keys
//     are canonical are set straight into the map, and the STS client signs
//     with its endpoint's parts of the canonical request worked out once
//     (signForEndpoint).
//
// e2e's TestInterpretedTokenPathAllocationBudget holds the interpreted token
// path to an allocation budget. Compiled, none of this costs anything worth
// measuring; the core's own benchmarks stay the reference for the Caddy
// build.

package plugintest

// BadOption is plugin options that New must refuse: Edit spoils a valid set
// of options (one with inline gateway keys and a jwt map holding a
// jwksURL), and the error must start with Prefix, which names the option as
// the operator wrote it (camelCase). The compiled plugin tests and the
// interpreted catalog test run the same table.
type BadOption struct {
	Name   string
	Edit   func(o map[string]any)
	Prefix string
}

// BadOptions is the table.
var BadOptions = []BadOption{
	{"no endpointURL", func(o map[string]any) { delete(o, "endpointURL") }, "endpointURL: required"},
	{"endpointURL not a URL", func(o map[string]any) { o["endpointURL"] = "s3.example" }, "endpointURL: "},
	{"no roleArn nor roles", func(o map[string]any) { delete(o, "roleArn"); delete(o, "roles") }, "roleArn: required when mode is assume_role"},
	{"bad mode", func(o map[string]any) { o["mode"] = "assume-role" }, "mode: must be assume_role or web_identity"},
	{"prefix without slash", func(o map[string]any) { o["prefix"] = "apis/sts" }, "prefix: "},
	{"duration too short", func(o map[string]any) { o["duration"] = "5m" }, "duration: must be between"},
	{"duration over 12h", func(o map[string]any) { o["duration"] = "13h" }, "duration: must be between"},
	{"duration not a duration", func(o map[string]any) { o["duration"] = "an hour" }, "duration: not a duration"},
	{"timeout not a duration", func(o map[string]any) { o["timeout"] = "soon" }, "timeout: "},
	{"negative timeout", func(o map[string]any) { o["timeout"] = "-1s" }, "timeout: must not be negative"},
	{"cache not shorter than duration", func(o map[string]any) { o["duration"] = "1h"; o["cache"] = "2h" }, "cache: must be shorter than duration"},
	{"misspelt option", func(o map[string]any) { o["accesKeyFil"] = "/run/secrets/ak" }, "accesKeyFil: unknown option; did you mean accessKeyFile?"},
	{"unknown option", func(o map[string]any) { o["frobnicate"] = true }, "frobnicate: unknown option"},
	{"misspelt jwt option", func(o map[string]any) { o["jwt"].(map[string]any)["jwksUri"] = "https://idp.example/jwks" }, "jwt.jwksUri: unknown option; did you mean jwt.jwksURL?"},
	{"misspelt role rule key", func(o map[string]any) {
		o["roles"] = []any{map[string]any{"claim": "groups", "value": "v", "roleArm": "arn:aws:iam:::role/x"}}
	}, "roles[].roleArm: unknown option; did you mean roles[].roleArn?"},
	{"cache under the SDKs' refresh window", func(o map[string]any) { o["cache"] = "60s" }, "cache: must be at least 15m"},
	{"negative cacheMaxEntries", func(o map[string]any) { o["cacheMaxEntries"] = -1 }, "cacheMaxEntries: must not be negative"},
	{"negative jwt.keyMaxAge", func(o map[string]any) { o["jwt"].(map[string]any)["keyMaxAge"] = "-1s" }, "jwt.keyMaxAge: must not be negative"},
	{"role claim with an empty part", func(o map[string]any) {
		o["roles"] = []any{map[string]any{"claim": "realm_access..roles", "value": "v", "roleArn": "arn:aws:iam:::role/x"}}
	}, "roles: rule 1: claim path"},
	{"secretKey without accessKey", func(o map[string]any) { delete(o, "accessKey") }, "accessKey: required with secretKey"},
	{"accessKey without secretKey", func(o map[string]any) { delete(o, "secretKey") }, "secretKey: required with accessKey"},
	{"no keys in assume_role", func(o map[string]any) { delete(o, "secretKey"); delete(o, "accessKey") }, "accessKey: required when mode is assume_role"},
	{"accessKey and accessKeyFile", func(o map[string]any) { o["accessKeyFile"] = "/run/secrets/ak" }, "accessKey: give accessKey or accessKeyFile, not both"},
	{"secretKey and secretKeyFile", func(o map[string]any) { o["secretKeyFile"] = "/run/secrets/sk" }, "secretKey: give secretKey or secretKeyFile, not both"},
	{"keys in web_identity", func(o map[string]any) { o["mode"] = "web_identity" }, "accessKey: not used when mode is web_identity"},
	{"stsEndpoint not a URL", func(o map[string]any) { o["stsEndpoint"] = "ftp://sts" }, "stsEndpoint: "},
	{"role rule without value", func(o map[string]any) {
		o["roles"] = []any{map[string]any{"claim": "groups", "roleArn": "arn:aws:iam:::role/x"}}
	}, "roles: rule 1 needs a claim, a value and a role ARN"},
	{"policy and policyFile", func(o map[string]any) { o["policy"] = "{}"; o["policyFile"] = "/etc/p.json" }, "policy: give policy or policyFile, not both"},
	{"policy not JSON", func(o map[string]any) { o["policy"] = "{" }, "policy: "},
	{"unreadable policyFile", func(o map[string]any) { o["policyFile"] = "/nonexistent/policy.json" }, "policyFile: "},
	{"unreadable caFile", func(o map[string]any) { o["caFile"] = "/nonexistent/sts-ca.pem" }, "caFile: "},
	{"no key source", func(o map[string]any) { o["jwt"] = map[string]any{} }, "jwt: needs issuer (OIDC discovery), jwksURL, jwksFile or an HMAC secret"},
	{"jwksURL and jwksFile", func(o map[string]any) { jwt(o)["jwksFile"] = "/etc/jwks.json" }, "jwt.jwksURL: give jwksURL or jwksFile, not both"},
	{"jwksURL not a URL", func(o map[string]any) { jwt(o)["jwksURL"] = "idp/jwks" }, "jwt.jwksURL: "},
	{"issuer not a URL for discovery", func(o map[string]any) { o["jwt"] = map[string]any{"issuer": "my-idp"} }, "jwt.issuer: "},
	{"alg none", func(o map[string]any) { jwt(o)["algorithms"] = []any{"RS256", "none"} }, `jwt.algorithms: "none" is never accepted`},
	{"HS256 without a secret", func(o map[string]any) { jwt(o)["algorithms"] = []any{"RS256", "HS256"} }, "jwt.algorithms: HS256 needs an HMAC secret"},
	{"unknown algorithm", func(o map[string]any) { jwt(o)["algorithms"] = []any{"RS1"} }, "jwt.algorithms: unknown algorithm"},
	{"leeway over 5m", func(o map[string]any) { jwt(o)["leeway"] = "10m" }, "jwt.leeway: must be at most 5m"},
	{"leeway not a duration", func(o map[string]any) { jwt(o)["leeway"] = "a bit" }, "jwt.leeway: not a duration"},
	{"unreadable jwt.caFile", func(o map[string]any) { jwt(o)["caFile"] = "/nonexistent/idp-ca.pem" }, "jwt.caFile: "},
	{"unreadable hmacSecretFile", func(o map[string]any) { o["jwt"] = map[string]any{"hmacSecretFile": "/nonexistent/hmac"} }, "jwt.hmacSecretFile: cannot read /nonexistent/hmac"},
	{"hmacSecret and hmacSecretFile", func(o map[string]any) {
		o["jwt"] = map[string]any{"hmacSecret": "s3cret-s3cret-s3cret-s3cret-s3cret", "hmacSecretFile": "/etc/hmac"}
	}, "jwt.hmacSecret: give hmacSecret or hmacSecretFile, not both"},
	{"hmacSecret too short", func(o map[string]any) { o["jwt"] = map[string]any{"hmacSecret": "short"} }, "jwt.hmacSecret: must be at least 32 bytes"},
	{"negative maxTokenBytes", func(o map[string]any) { jwt(o)["maxTokenBytes"] = -5 }, "jwt.maxTokenBytes: must not be negative"},
	{"negative refreshCooldown", func(o map[string]any) { jwt(o)["refreshCooldown"] = "-1s" }, "jwt.refreshCooldown: must not be negative, not -1s"},
	{"negative fetchTimeout", func(o map[string]any) { jwt(o)["fetchTimeout"] = "-1s" }, "jwt.fetchTimeout: must not be negative, not -1s"},
	{"negative timeout", func(o map[string]any) { o["timeout"] = "-1s" }, "timeout: must not be negative, not -1s"},
	{"jwksFile with no usable key", func(o map[string]any) {
		o["jwt"] = map[string]any{"jwksFile": "../.traefik.yml"}
	}, "jwt.jwksFile: ../.traefik.yml holds no usable key"},
	{"negative cache", func(o map[string]any) { o["cache"] = "-1m" }, "cache: must not be negative, not -1m0s"},
}

// jwt is the options' jwt map.
func jwt(o map[string]any) map[string]any { return o["jwt"].(map[string]any) }

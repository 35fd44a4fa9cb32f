// Package plugintest turns a core.Config into the Traefik plugin's options,
// so that tests can mount the conformance configurations (written as
// core.Configs) in a Traefik configuration or through the plugin's New.
// It is not imported by the plugin: Traefik never interprets it.
package plugintest

import (
	"time"

	"github.com/stsgate/stsgate/core"
)

// Options returns the plugin options, keyed as in a Traefik configuration,
// that configure the same issuer as c. Values are strings, booleans,
// integers, lists ([]any) and maps, ready for JSON or YAML; durations are
// strings such as "3s". Zero values are left out except prefix, retries and
// jwt.leeway, whose zero values mean something.
func Options(c core.Config) map[string]any {
	o := map[string]any{
		"prefix":  c.Prefix,
		"retries": c.STS.Retries,
	}
	putString(o, "endpointURL", c.EndpointURL)
	putString(o, "stsEndpoint", c.STS.Endpoint)
	putString(o, "region", c.STS.Region)
	putString(o, "mode", c.Mode)
	putString(o, "roleArn", c.RoleARN)
	if len(c.Roles) > 0 {
		roles := make([]any, 0, len(c.Roles))
		for _, r := range c.Roles {
			roles = append(roles, map[string]any{"claim": r.Claim, "value": r.Value, "roleArn": r.RoleARN})
		}
		o["roles"] = roles
	}
	putDuration(o, "duration", c.Duration)
	putList(o, "sessionNameClaim", c.SessionNameClaims)
	putString(o, "accessKey", c.Credentials.AccessKey)
	putString(o, "accessKeyFile", c.Credentials.AccessKeyFile)
	putString(o, "secretKey", c.Credentials.SecretKey)
	putString(o, "secretKeyFile", c.Credentials.SecretKeyFile)
	putString(o, "caFile", c.STS.CAFile)
	putBool(o, "insecureSkipVerify", c.STS.InsecureSkipVerify)
	putString(o, "policy", c.Policy)
	putString(o, "policyFile", c.PolicyFile)
	putDuration(o, "timeout", c.STS.Timeout)
	putBool(o, "publicHealthz", c.PublicHealthz)
	putBool(o, "containerCredentials", c.ContainerCredentials)
	putDuration(o, "cache", c.Cache)

	j := map[string]any{"leeway": c.JWT.Leeway.String()}
	putString(j, "issuer", c.JWT.Issuer)
	putList(j, "audience", c.JWT.Audience)
	putString(j, "jwksURL", c.JWT.JWKSURL)
	putString(j, "jwksFile", c.JWT.JWKSFile)
	putString(j, "caFile", c.JWT.CAFile)
	putBool(j, "insecureSkipVerify", c.JWT.InsecureSkipVerify)
	putList(j, "algorithms", c.JWT.Algorithms)
	putString(j, "hmacSecret", c.JWT.HMACSecret)
	putDuration(j, "refreshCooldown", c.JWT.RefreshCooldown)
	putDuration(j, "fetchTimeout", c.JWT.FetchTimeout)
	if c.JWT.MaxTokenBytes != 0 {
		j["maxTokenBytes"] = c.JWT.MaxTokenBytes
	}
	o["jwt"] = j
	return o
}

func putString(m map[string]any, key, v string) {
	if v != "" {
		m[key] = v
	}
}

func putBool(m map[string]any, key string, v bool) {
	if v {
		m[key] = true
	}
}

func putDuration(m map[string]any, key string, d time.Duration) {
	if d != 0 {
		m[key] = d.String()
	}
}

func putList(m map[string]any, key string, list []string) {
	if len(list) == 0 {
		return
	}
	out := make([]any, len(list))
	for i, s := range list {
		out[i] = s
	}
	m[key] = out
}

package core

// selectRole returns the role ARN for the caller: the first rule whose claim
// matches, else the default. An empty result means nothing admits the caller.
func selectRole(claims Claims, rules []RoleRule, defaultARN string) string {
	for _, r := range rules {
		if claims.Has(r.Claim, r.Value) {
			return r.RoleARN
		}
	}
	return defaultARN
}

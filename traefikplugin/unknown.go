package traefikplugin

import (
	"fmt"
	"sort"
	"strings"

	"github.com/stsgate/stsgate/core"
)

// unknownOption refuses the first option no field took (Traefik ignores
// them otherwise, so a misspelt accessKeyFile would load and serve with
// other keys), naming it and the closest known option.
func (c *Config) unknownOption() error {
	if err := unknownIn(c.Unknown, ""); err != nil {
		return err
	}
	blocks := map[string]JWTConfig{"jwt": c.JWT}
	for n, j := range c.Issuers {
		blocks[fmt.Sprintf("issuers[%d]", n)] = j
	}
	for _, r := range c.Roles {
		if err := unknownIn(r.Unknown, "roles[]."); err != nil {
			return err
		}
	}
	for _, name := range sortedKeys(blocks) {
		j := blocks[name]
		if err := unknownIn(j.Unknown, name+"."); err != nil {
			return err
		}
		for _, r := range j.Roles {
			if err := unknownIn(r.Unknown, name+".roles[]."); err != nil {
				return err
			}
		}
	}
	return nil
}

func sortedKeys(m map[string]JWTConfig) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func unknownIn(unknown map[string]any, path string) error {
	if len(unknown) == 0 {
		return nil
	}
	names := make([]string, 0, len(unknown))
	for name := range unknown {
		names = append(names, name)
	}
	sort.Strings(names)
	reason := "unknown option"
	if near := closestOption(names[0], path); near != "" {
		reason += "; did you mean " + path + near + "?"
	}
	return optionError(path+names[0], reason)
}

// closestOption is the known option at path nearest to name (at most a
// third of its letters away), or "".
func closestOption(name, path string) string {
	known := []string{"claim", "value", "roleArn"}
	if !strings.HasSuffix(path, "roles[].") {
		known = nil
		block := path == "jwt." || strings.HasPrefix(path, "issuers[")
		for _, o := range core.ConfigOptions {
			switch {
			case o.Traefik == "":
			case block && o.PerIssuer:
				known = append(known, o.Traefik)
			case block && strings.HasPrefix(o.Traefik, "jwt."):
				known = append(known, o.Traefik[len("jwt."):])
			case !block && !strings.Contains(o.Traefik, "."):
				known = append(known, o.Traefik)
			}
		}
	}
	best, bestDist := "", len(name)/3+1
	for _, k := range known {
		if d := editDistance(strings.ToLower(name), strings.ToLower(k)); d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			// No min builtin: yaegi's Go is older than it.
			best := prev[j-1] + cost
			if prev[j]+1 < best {
				best = prev[j] + 1
			}
			if cur[j-1]+1 < best {
				best = cur[j-1] + 1
			}
			cur[j] = best
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

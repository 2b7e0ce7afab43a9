package suppress

import "strings"

// glob reports whether s matches pattern, where * matches any run of
// characters (including none, ':' and '/') and every other character
// matches itself. ARNs are split by both ':' and '/', and a suppression
// is written for a resource or caller as a whole, so unlike path.Match a
// star does not stop at either.
func glob(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return len(s) >= len(last) && strings.HasSuffix(s, last)
}

// matchesAll reports whether a pattern is only stars: it matches every
// value, absent ones too.
func matchesAll(pattern string) bool { return strings.Trim(pattern, "*") == "" }

package oidc

// MatchLike reports whether value matches pattern under IAM's StringLike
// condition operator: "*" matches any run of characters (including none), "?"
// exactly one character, every other character only itself, case-sensitively.
// IAM has no escape character, so a literal "*" or "?" in value is matched by
// the wildcard, never by itself alone. See "String condition operators" in
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
// ("Case-sensitive match ... multi-character match wildcards (*) and
// single-character match wildcards (?) anywhere in the string").
//
// Hand-written rather than path.Match or filepath.Match: those treat "/", "["
// and "\" specially, while IAM patterns such as "repo:org/*" must let "*"
// cross "/" and take "[" literally.
func MatchLike(pattern, value string) bool {
	p, v := []rune(pattern), []rune(value)
	// Greedy match with one backtrack point, the last "*" seen: linear in
	// practice and never exponential.
	pi, vi := 0, 0
	star, starV := -1, 0
	for vi < len(v) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] != '*' && p[pi] == v[vi]):
			pi++
			vi++
		case pi < len(p) && p[pi] == '*':
			star, starV = pi, vi
			pi++
		case star >= 0:
			// Let the last "*" swallow one more character and retry.
			starV++
			pi, vi = star+1, starV
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

package detect

import (
	"slices"
	"strings"

	"github.com/lambdawatch/lambdawatch/pkg/awsid"
	"github.com/lambdawatch/lambdawatch/pkg/policy"
)

// scope is what a statement's conditions leave open.
type scope struct {
	// inside: some condition admits only the owner, the trusted accounts
	// or the own organization, or admits nobody at all. Conditions are
	// ANDed, so one such condition is enough.
	inside bool
	// Foreign values that conditions name, when none keeps callers inside.
	account, arn, arnAccount, org string
}

// The condition keys that narrow a grant to callers of known accounts or
// organizations, by the kind of value they hold.
var (
	accountKeys = []string{policy.KeySourceAccount, policy.KeyPrincipalAccount, policy.KeySourceOwner}
	arnKeys     = []string{policy.KeySourceArn, policy.KeyPrincipalArn}
	orgKeys     = []string{policy.KeyPrincipalOrgID, policy.KeySourceOrgID}
)

// admitted is what one narrowing condition lets in: the values a request
// can match, when they are known.
type admitted struct {
	// open: the condition lets in values that cannot be listed (a
	// wildcard that spans the account), so it narrows nothing.
	open   bool
	values []string
}

// scope reads the conditions of st as IAM evaluates them: StringEquals
// compares literally (a * there matches only a star, which no account,
// ARN or organization is), StringEqualsIgnoreCase ignores case,
// StringLike's * spans colons, and ArnLike and ArnEquals match each of
// the six fields of an ARN apart.
func (e *Engine) scope(st policy.Statement, owner string) scope {
	var s scope
	trusted := func(a string) bool { return e.trustedAccount(a, owner) }
	for _, c := range conditionsOn(st, accountKeys) {
		a := accountsAdmitted(c)
		if a.open {
			continue
		}
		if i := slices.IndexFunc(a.values, func(v string) bool { return !trusted(v) }); i < 0 {
			s.inside = true
		} else if s.account == "" {
			s.account = a.values[i]
		}
	}
	for _, c := range conditionsOn(st, arnKeys) {
		arns, accounts := arnsAdmitted(c)
		if arns.open {
			continue
		}
		if i := slices.IndexFunc(accounts, func(v string) bool { return !trusted(v) }); i < 0 {
			s.inside = true
		} else if s.arn == "" {
			s.arn, s.arnAccount = arns.values[i], accounts[i]
		}
	}
	own := func(o string) bool { return e.cfg.OrgID != "" && o == e.cfg.OrgID }
	for _, c := range conditionsOn(st, orgKeys) {
		a := orgsAdmitted(c, func(v string) string { return v })
		s.judgeOrgs(a, own)
	}
	for _, c := range st.NarrowingConditions(policy.KeyPrincipalOrgPaths) {
		// o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/: the organization first.
		a := orgsAdmitted(c, func(v string) string { o, _, _ := strings.Cut(v, "/"); return o })
		s.judgeOrgs(a, own)
	}
	for _, c := range st.NarrowingConditions(policy.KeyEventSourceToken) {
		if a := literals(c); !a.open {
			s.inside = true // only callers holding the token, such as one Alexa skill
		}
	}
	return s
}

func (s *scope) judgeOrgs(a admitted, own func(string) bool) {
	if a.open {
		return
	}
	if i := slices.IndexFunc(a.values, func(o string) bool { return !own(o) }); i < 0 {
		s.inside = true
	} else if s.org == "" {
		s.org = a.values[i]
	}
}

// conditionsOn lists the narrowing conditions on any of keys.
func conditionsOn(st policy.Statement, keys []string) []policy.Condition {
	var out []policy.Condition
	for _, k := range keys {
		out = append(out, st.NarrowingConditions(k)...)
	}
	return out
}

// literals is what a condition on a plain string admits: under
// StringEquals its values, those with a * or ? matching only themselves;
// under StringLike its values unless one has a wildcard. Other operators
// on such a key are taken to narrow nothing.
func literals(c policy.Condition) admitted {
	switch c.Match() {
	case policy.Literal, policy.LiteralFold:
		return admitted{values: c.Values}
	case policy.Glob:
		if slices.ContainsFunc(c.Values, policy.HasWildcard) {
			return admitted{open: true}
		}
		return admitted{values: c.Values}
	}
	return admitted{open: true}
}

// accountsAdmitted: the accounts an account-key condition lets in. A
// value that is no account ID (a literal *, say) lets in nobody.
func accountsAdmitted(c policy.Condition) admitted {
	a := literals(c)
	if !a.open {
		a.values = slices.DeleteFunc(slices.Clone(a.values), func(v string) bool { return !awsid.IsAccountID(v) })
	}
	return a
}

// orgsAdmitted: the organizations an organization-key condition lets in,
// each value read by org. A literal with a wildcard names no
// organization; under StringLike, a wildcard in the organization itself
// lets in any.
func orgsAdmitted(c policy.Condition, org func(string) string) admitted {
	var a admitted
	for _, v := range c.Values {
		switch c.Match() {
		case policy.Literal:
			if policy.HasWildcard(v) {
				continue
			}
		case policy.LiteralFold:
			if policy.HasWildcard(v) {
				continue
			}
			v = strings.ToLower(v) // organization IDs are lower case
		case policy.Glob:
			if policy.HasWildcard(org(v)) {
				return admitted{open: true}
			}
		default:
			return admitted{open: true}
		}
		a.values = append(a.values, org(v))
	}
	return a
}

// arnsAdmitted: the ARNs an ARN-key condition lets in, with the account
// each is pinned to. A condition with an ARN whose account is not pinned
// (no account field, as S3 buckets have, or a wildcard that reaches it)
// narrows nothing.
func arnsAdmitted(c policy.Condition) (admitted, []string) {
	var (
		a        admitted
		accounts []string
	)
	for _, v := range c.Values {
		account, ok := "", false
		switch c.Match() {
		case policy.Literal, policy.LiteralFold:
			if policy.HasWildcard(v) {
				continue // matches only itself: no resource is named so
			}
			if arn, err := awsid.ParseARN(v); err == nil && awsid.IsAccountID(arn.Account) {
				account, ok = arn.Account, true
			}
		case policy.Glob:
			// * spans colons: the account is pinned only if nothing up to
			// and including it is a wildcard.
			fields := strings.SplitN(v, ":", 6)
			if len(fields) == 6 && !slices.ContainsFunc(fields[:5], policy.HasWildcard) && awsid.IsAccountID(fields[4]) {
				account, ok = fields[4], true
			}
		case policy.ARNGlob:
			if arn, err := awsid.ParseARN(v); err == nil && awsid.IsAccountID(arn.Account) {
				account, ok = arn.Account, true
			}
		}
		if !ok {
			return admitted{open: true}, nil
		}
		a.values = append(a.values, v)
		accounts = append(accounts, account)
	}
	return a, accounts
}

// Package awsid parses and validates the AWS identifiers lambdawatch reads
// from configuration, CloudTrail records and archive keys: account and
// organization IDs, region names and their partitions, ARNs, IAM role-name
// patterns, and the prefix of the stack's own resource names. Every check
// of these shapes in the project is one of these functions, so that the CDK
// app, the monitor, the archive walk and the console links accept the same
// values. It has no dependencies beyond the standard library, so that the
// pure packages (detect, policy) can use it.
package awsid

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// IsAccountID reports whether s is an AWS account ID: 12 ASCII digits.
func IsAccountID(s string) bool {
	return len(s) == 12 && digits(s)
}

// IsOrgID reports whether s is an AWS Organizations ID: o- and 10 to 32
// lower-case letters or digits.
func IsOrgID(s string) bool {
	id, ok := strings.CutPrefix(s, "o-")
	return ok && len(id) >= 10 && len(id) <= 32 && lowerAlnum(id)
}

// SplitAccountIDs reads list, the comma-separated account IDs of the
// setting called name (TRUSTED_ACCOUNTS, say). Blanks around each ID and
// empty entries are dropped. Any value that is not an account ID makes an
// error naming the setting and every bad value, and no IDs: a list that
// silently lost an entry would trust fewer accounts than meant.
func SplitAccountIDs(name, list string) ([]string, error) {
	var ids, bad []string
	for _, a := range strings.Split(list, ",") {
		switch a = strings.TrimSpace(a); {
		case a == "":
		case IsAccountID(a):
			ids = append(ids, a)
		default:
			bad = append(bad, quote(a)+" is not a 12-digit account ID")
		}
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("%s: %s", name, strings.Join(bad, "; "))
	}
	return ids, nil
}

// MaxRolePattern is the longest IAM role name, and so the longest pattern
// on one.
const MaxRolePattern = 64

// IsRolePattern reports whether s is a pattern on IAM role names, as the
// deploy-role settings take them: 1 to 64 of the characters IAM allows in
// a role name (letters, digits and +=,.@_-) or the globs * and ?. Those
// characters hold none of path.Match's syntax errors ([ and \ are not
// among them), so any such pattern is valid for path.Match.
func IsRolePattern(s string) bool {
	if s == "" || len(s) > MaxRolePattern {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && !strings.ContainsRune("+=,.@_-*?", rune(c)) {
			return false
		}
	}
	return true
}

// MaxMonitorPrefix is the longest monitor prefix: the longest name the
// stack builds on it (the forwarders' Lambda rule) must stay within
// EventBridge's 64 characters.
const MaxMonitorPrefix = 40

// IsMonitorPrefix reports whether s can start the physical names of the
// stack's resources (MONITOR_PREFIX): 1 to MaxMonitorPrefix letters, digits
// or hyphens, which every kind of them (functions, rules, topics, queues)
// accepts.
func IsMonitorPrefix(s string) bool {
	if s == "" || len(s) > MaxMonitorPrefix {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '-' {
			return false
		}
	}
	return true
}

// maxQuoted is how much of a value an error message quotes: configuration
// and records can hold megabytes.
const maxQuoted = 80

// quote is s quoted for an error message (Go syntax, so control
// characters show), cut to its first 80 bytes.
func quote(s string) string {
	if len(s) <= maxQuoted {
		return fmt.Sprintf("%q", s)
	}
	n := maxQuoted
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return fmt.Sprintf("%q...", s[:n])
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func lower(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'a' || s[i] > 'z' {
			return false
		}
	}
	return s != ""
}

func lowerAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return s != ""
}

func isAlnum(c byte) bool {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

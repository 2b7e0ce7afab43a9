package awsid

import (
	"fmt"
	"strings"
)

// ARN is the parts of an Amazon Resource Name:
// arn:Partition:Service:Region:Account:Resource.
type ARN struct {
	Partition, Service, Region, Account, Resource string
}

// ParseARN splits an ARN into its parts. It accepts empty and wildcard
// fields (arn:aws:execute-api:ap-southeast-1::*, arn:aws:s3:::bucket), as
// policies and CloudTrail records use them; Validate checks an ARN that
// must name one resource. The resource keeps any further colons
// (function:f:prod).
func ParseARN(s string) (ARN, error) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return ARN{}, fmt.Errorf("not an ARN: %s", quote(s))
	}
	return ARN{Partition: parts[1], Service: parts[2], Region: parts[3], Account: parts[4], Resource: parts[5]}, nil
}

// String is the ARN as AWS writes it.
func (a ARN) String() string {
	return "arn:" + a.Partition + ":" + a.Service + ":" + a.Region + ":" + a.Account + ":" + a.Resource
}

// ManagedAccount stands for the account in the ARNs of resources AWS owns:
// arn:aws:iam::aws:policy/ReadOnlyAccess.
const ManagedAccount = "aws"

// Validate checks that a names one resource, as a setting that takes a
// complete ARN wants it: a known partition; a service of lower-case
// letters, digits and hyphens; no region (global services) or a region of
// that partition; no account, a 12-digit account or ManagedAccount; a
// resource; and no wildcard (* or ?) anywhere. Each fault is named.
func (a ARN) Validate() error {
	var errs []string
	if !IsPartition(a.Partition) {
		errs = append(errs, fmt.Sprintf("partition %s is not one of AWS's (aws, aws-cn, aws-us-gov, ...)", quote(a.Partition)))
	}
	if !lowerAlnumHyphen(a.Service) {
		errs = append(errs, fmt.Sprintf("service %s: want lower-case letters, digits and hyphens", quote(a.Service)))
	}
	if a.Region != "" {
		switch p, ok := Partition(a.Region); {
		case !ok:
			errs = append(errs, fmt.Sprintf("region %s is not a region name", quote(a.Region)))
		case p != a.Partition && IsPartition(a.Partition):
			errs = append(errs, fmt.Sprintf("region %s is in partition %s, not %s", a.Region, p, a.Partition))
		}
	}
	if a.Account != "" && a.Account != ManagedAccount && !IsAccountID(a.Account) {
		errs = append(errs, fmt.Sprintf("account %s is not a 12-digit account ID", quote(a.Account)))
	}
	switch {
	case a.Resource == "":
		errs = append(errs, "no resource")
	case strings.ContainsAny(a.Resource, "*?"):
		errs = append(errs, fmt.Sprintf("resource %s holds a wildcard", quote(a.Resource)))
	}
	if len(errs) > 0 {
		return fmt.Errorf("ARN %s: %s", quote(a.String()), strings.Join(errs, "; "))
	}
	return nil
}

func lowerAlnumHyphen(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return s != ""
}

// Principal writes an account's root ARN, arn:<partition>:iam::<account>:root,
// as the account ID, and any other principal as it is: the same grant
// given one way (AddPermission takes an ID) reads back the other (the
// stored policy shows the ARN).
func Principal(p string) string {
	if a, err := ParseARN(p); err == nil && a.Service == "iam" && a.Resource == "root" && IsAccountID(a.Account) {
		return a.Account
	}
	return p
}

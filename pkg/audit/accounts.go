package audit

import (
	"context"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/wafv2"

	"github.com/lambdawatch/lambdawatch/pkg/awsid"
)

// STSAPI tells whose the credentials are.
type STSAPI interface {
	GetCallerIdentity(context.Context, *sts.GetCallerIdentityInput, ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
}

// OrganizationsAPI lists an organization's accounts.
type OrganizationsAPI interface {
	ListAccounts(context.Context, *organizations.ListAccountsInput, ...func(*organizations.Options)) (*organizations.ListAccountsOutput, error)
}

// RegionsAPI lists the regions enabled for an account. EC2's
// DescribeRegions does (the Account API's ListRegions does too, but moto
// does not serve it).
type RegionsAPI interface {
	DescribeRegions(context.Context, *ec2.DescribeRegionsInput, ...func(*ec2.Options)) (*ec2.DescribeRegionsOutput, error)
}

// Caller returns the account and partition of the credentials c signs
// with.
func Caller(ctx context.Context, c STSAPI) (account, partition string, err error) {
	out, err := c.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", "", callFailed("sts GetCallerIdentity", err)
	}
	account = aws.ToString(out.Account)
	a, perr := awsid.ParseARN(aws.ToString(out.Arn))
	if perr != nil || a.Partition == "" {
		return account, "aws", nil
	}
	return account, a.Partition, nil
}

// OrgAccounts lists the organization's active accounts.
func OrgAccounts(ctx context.Context, c OrganizationsAPI) ([]string, error) {
	var ids []string
	p := organizations.NewListAccountsPaginator(c, &organizations.ListAccountsInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return ids, callFailed("organizations ListAccounts", err)
		}
		for _, a := range out.Accounts {
			// State replaces the older Status; either says active.
			if a.State == orgtypes.AccountStateActive || (a.State == "" && a.Status == orgtypes.AccountStatusActive) {
				ids = append(ids, aws.ToString(a.Id))
			}
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// EnabledRegions lists the regions enabled for the account.
func EnabledRegions(ctx context.Context, c RegionsAPI) ([]string, error) {
	out, err := c.DescribeRegions(ctx, &ec2.DescribeRegionsInput{})
	if err != nil {
		return nil, callFailed("ec2 DescribeRegions", err)
	}
	var regions []string
	for _, r := range out.Regions {
		// Without AllRegions, only enabled ones come back; opt-in status
		// says so again.
		if s := aws.ToString(r.OptInStatus); s == "" || s == "opt-in-not-required" || s == "opted-in" {
			regions = append(regions, aws.ToString(r.RegionName))
		}
	}
	slices.Sort(regions)
	return regions, nil
}

// RoleARN is the ARN of the role named name in account.
func RoleARN(partition, account, name string) string {
	return "arn:" + partition + ":iam::" + account + ":role/" + name
}

// AssumeRole returns cfg signing as role, once STS has let it assume the
// role: an account whose role cannot be assumed is found here, not in
// every call after.
func AssumeRole(ctx context.Context, cfg aws.Config, role string) (aws.Config, error) {
	assumed := cfg.Copy()
	assumed.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), role, func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = "lambdawatch-audit"
	}))
	if _, err := assumed.Credentials.Retrieve(ctx); err != nil {
		return aws.Config{}, callFailed("sts AssumeRole "+role, err)
	}
	return assumed, nil
}

// NewAccount builds the SDK's clients for an account from cfg.
func NewAccount(cfg aws.Config, id, partition string) Account {
	return Account{
		ID: id, Partition: partition,
		IAM: iam.NewFromConfig(cfg),
		Region: func(region string) RegionClients {
			c := cfg.Copy()
			c.Region = region
			return RegionClients{
				Lambda:   lambda.NewFromConfig(c),
				RestAPIs: apigateway.NewFromConfig(c),
				HTTPAPIs: apigatewayv2.NewFromConfig(c),
				ELB:      elb.NewFromConfig(c),
				WAF:      wafv2.NewFromConfig(c),
			}
		},
	}
}

// DefaultAttempts is how often a call is tried unless AWS_MAX_ATTEMPTS
// says otherwise: more than the SDK's 3, as reading thousands of
// functions meets throttling.
const DefaultAttempts = 8

// Retryer makes the SDK's adaptive retryer: it retries throttled and
// failed calls with backoff, and slows a client's calls while they are
// throttled. maxAttempts and maxBackoff, when above 0, replace the SDK's
// defaults (3 attempts, 20 s).
func Retryer(maxAttempts int, maxBackoff time.Duration) func() aws.Retryer {
	return func() aws.Retryer {
		return retry.NewAdaptiveMode(func(o *retry.AdaptiveModeOptions) {
			o.StandardOptions = append(o.StandardOptions, func(so *retry.StandardOptions) {
				if maxAttempts > 0 {
					so.MaxAttempts = maxAttempts
				}
				if maxBackoff > 0 {
					so.MaxBackoff = maxBackoff
				}
			})
		})
	}
}

package audit

import (
	"context"
	"net/url"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// roleReader reads an account's execution roles as functions name them,
// in the background, each role once.
type roleReader struct {
	a    *Auditor
	acct Account
	sem  sem // IAM is global: one bound per account
	wg   sync.WaitGroup

	mu    sync.Mutex
	seen  map[string]bool
	roles []*Role
	errs  []error
}

// read starts reading the role unless it has been.
func (rs *roleReader) read(ctx context.Context, arn string) {
	rs.mu.Lock()
	if rs.seen == nil {
		rs.seen = map[string]bool{}
	}
	if rs.seen[arn] {
		rs.mu.Unlock()
		return
	}
	rs.seen[arn] = true
	rs.mu.Unlock()
	rs.wg.Go(func() {
		role, _, _ := rs.a.roles.get(arn, func() (*Role, error) { return rs.role(ctx, arn), nil })
		{
			rs.mu.Lock()
			rs.roles = append(rs.roles, role)
			rs.mu.Unlock()
		}
	})
}

func (rs *roleReader) fail(call, resource string, err error) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.errs = append(rs.errs, &CallError{Where: rs.acct.ID, Service: "iam", Call: call, Resource: resource, Err: err})
}

// role reads a role's attached and inline policies. What cannot be read
// is recorded and leaves the role incomplete.
func (rs *roleReader) role(ctx context.Context, arn string) *Role {
	role := &Role{ARN: arn, Name: roleName(arn), Complete: true}
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	incomplete := func() {
		mu.Lock()
		role.Complete = false
		mu.Unlock()
	}
	wg.Go(func() {
		var attached []ManagedPolicy
		p := iam.NewListAttachedRolePoliciesPaginator(rs.acct.IAM, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(role.Name)})
		for p.HasMorePages() {
			var out *iam.ListAttachedRolePoliciesOutput
			err := rs.sem.do(ctx, func() (err error) { out, err = p.NextPage(ctx); return err })
			if err != nil {
				rs.fail("ListAttachedRolePolicies", arn, err)
				incomplete()
				break
			}
			for _, ap := range out.AttachedPolicies {
				attached = append(attached, ManagedPolicy{ARN: aws.ToString(ap.PolicyArn), Name: aws.ToString(ap.PolicyName)})
			}
		}
		var pwg sync.WaitGroup
		for i := range attached {
			pwg.Go(func() {
				doc, err, first := rs.a.policies.get(attached[i].ARN, func() (ManagedPolicy, error) {
					return rs.managed(ctx, attached[i])
				})
				if err != nil {
					if first {
						rs.fail(callOf(err), attached[i].ARN, unwrapCall(err))
					}
					incomplete()
					return
				}
				attached[i].Document = doc.Document
			})
		}
		pwg.Wait()
		mu.Lock()
		role.Attached = attached
		mu.Unlock()
	})
	wg.Go(func() {
		var names []string
		p := iam.NewListRolePoliciesPaginator(rs.acct.IAM, &iam.ListRolePoliciesInput{RoleName: aws.String(role.Name)})
		for p.HasMorePages() {
			var out *iam.ListRolePoliciesOutput
			err := rs.sem.do(ctx, func() (err error) { out, err = p.NextPage(ctx); return err })
			if err != nil {
				rs.fail("ListRolePolicies", arn, err)
				incomplete()
				break
			}
			names = append(names, out.PolicyNames...)
		}
		inline := make([]InlinePolicy, len(names))
		var pwg sync.WaitGroup
		for i, name := range names {
			pwg.Go(func() {
				inline[i].Name = name
				var out *iam.GetRolePolicyOutput
				err := rs.sem.do(ctx, func() (err error) {
					out, err = rs.acct.IAM.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(role.Name), PolicyName: aws.String(name)})
					return err
				})
				if err != nil {
					rs.fail("GetRolePolicy", arn+" (policy "+name+")", err)
					incomplete()
					return
				}
				inline[i].Document = policyDocument(aws.ToString(out.PolicyDocument))
			})
		}
		pwg.Wait()
		mu.Lock()
		role.Inline = inline
		mu.Unlock()
	})
	wg.Wait()
	return role
}

// managed reads a managed policy's default version.
func (rs *roleReader) managed(ctx context.Context, mp ManagedPolicy) (ManagedPolicy, error) {
	var got *iam.GetPolicyOutput
	err := rs.sem.do(ctx, func() (err error) {
		got, err = rs.acct.IAM.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(mp.ARN)})
		return err
	})
	if err != nil {
		return mp, &namedCall{"GetPolicy", err}
	}
	var ver *iam.GetPolicyVersionOutput
	err = rs.sem.do(ctx, func() (err error) {
		ver, err = rs.acct.IAM.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: aws.String(mp.ARN), VersionId: got.Policy.DefaultVersionId})
		return err
	})
	if err != nil {
		return mp, &namedCall{"GetPolicyVersion", err}
	}
	if ver.PolicyVersion != nil {
		mp.Document = policyDocument(aws.ToString(ver.PolicyVersion.Document))
	}
	return mp, nil
}

// namedCall carries which of several calls failed out of a memo.
type namedCall struct {
	call string
	err  error
}

func (n *namedCall) Error() string { return n.call + ": " + n.err.Error() }
func (n *namedCall) Unwrap() error { return n.err }

func callOf(err error) string {
	if n, ok := err.(*namedCall); ok {
		return n.call
	}
	return "GetPolicy"
}

func unwrapCall(err error) error {
	if n, ok := err.(*namedCall); ok {
		return n.err
	}
	return err
}

// policyDocument decodes a document IAM returns URL-encoded (RFC 3986);
// one that is already JSON is kept.
func policyDocument(s string) string {
	if t := strings.TrimSpace(s); strings.HasPrefix(t, "{") {
		return t
	}
	if d, err := url.PathUnescape(s); err == nil {
		return d
	}
	return s
}

// roleName is the last part of a role ARN: arn:aws:iam::1:role/path/name.
func roleName(arn string) string {
	if i := strings.LastIndexByte(arn, '/'); i >= 0 {
		return arn[i+1:]
	}
	return arn
}

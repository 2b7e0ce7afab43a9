// Package audit reads the state of AWS accounts that the rules judge:
// Lambda functions and their resource policies, URLs and layers, their
// execution roles, and what fronts them (API Gateway, load balancers, WAF).
// It only reads; the SDK clients it uses are given to it.
package audit

// Inventory is what one account holds in one region. Policies are kept
// as the raw JSON AWS returns.
type Inventory struct {
	Account   string
	Partition string
	Region    string

	Functions     []Function
	Layers        []LayerVersion
	RestAPIs      []RestAPI
	HTTPAPIs      []HTTPAPI
	LoadBalancers []LoadBalancer
	WebACLs       []WebACL

	// Errors are the calls that were refused or failed (*CallError); the
	// rest of the region was still read.
	Errors []error
	// Notes say how the reading adapted, such as a call the endpoint
	// lacks and the calls made instead.
	Notes []string
}

// Function is one function and what is attached to it.
type Function struct {
	Name        string
	ARN         string // unqualified
	Runtime     string // empty for Image functions
	PackageType string // Zip or Image
	Role        string // execution role ARN
	Layers      []string
	// ReservedConcurrency is nil when the function has none.
	ReservedConcurrency *int32
	// ConcurrencyKnown is false when the reserved concurrency could not be
	// read.
	ConcurrencyKnown bool

	Aliases  []string // names
	Versions []string // published versions, without $LATEST

	// Policies holds the resource policy of the function (Qualifier ""),
	// of each alias and of each published version that has one.
	Policies []ResourcePolicy
	// UnreadPolicies are the qualifiers ("" for the function) whose
	// policy could not be read.
	UnreadPolicies []string
	// URLs are the function URL configurations of the function and its
	// aliases.
	URLs []FunctionURL
}

// IsImage reports whether the function is a container image: it has no
// runtime to judge.
func (f Function) IsImage() bool { return f.PackageType == "Image" }

// ResourcePolicy is the policy of a function or of one qualifier.
type ResourcePolicy struct {
	Qualifier string // "", an alias name or a version number
	ARN       string // the function's ARN, with the qualifier
	Document  string
}

// FunctionURL is one function URL configuration.
type FunctionURL struct {
	Qualifier string
	ARN       string // the function's ARN, with the qualifier
	URL       string
	AuthType  string // NONE or AWS_IAM
}

// LayerVersion is one version of a layer published in the region.
type LayerVersion struct {
	Name    string
	ARN     string // the layer version ARN
	Version int64
	Policy  string // empty when it has none
	// PolicyUnread: the policy could not be read.
	PolicyUnread bool
}

// Role is an execution role and the policies that give it its rights.
type Role struct {
	ARN      string
	Name     string
	Attached []ManagedPolicy
	Inline   []InlinePolicy
	// Complete is false when some of the role's policies could not be
	// read: the rights judged may be fewer than the role has.
	Complete bool
}

// ManagedPolicy is an attached managed policy and its default version.
type ManagedPolicy struct {
	ARN      string
	Name     string
	Document string // empty when it could not be read
}

// InlinePolicy is a policy embedded in the role.
type InlinePolicy struct {
	Name     string
	Document string
}

// RestAPI is an API Gateway REST API.
type RestAPI struct {
	ID   string
	Name string
	// Private: a private endpoint, reachable only through VPC endpoints.
	Private bool
	Methods []RestMethod
	Stages  []RestStage
}

// RestMethod is one method of one resource.
type RestMethod struct {
	Path              string // resource path: /orders/{id}
	HTTPMethod        string
	AuthorizationType string // NONE, AWS_IAM, CUSTOM, COGNITO_USER_POOLS
	APIKeyRequired    bool
	// Function is the Lambda function the integration invokes (an ARN,
	// possibly qualified or holding stage variables); empty when the
	// integration is not Lambda.
	Function string
}

// RestStage is a deployed stage.
type RestStage struct {
	Name      string
	ARN       string // arn:PARTITION:apigateway:REGION::/restapis/ID/stages/NAME
	WebACLARN string
	// Throttled: the stage's */* method settings set a rate or burst
	// limit.
	Throttled bool
	// UsagePlans names the usage plans that include the stage.
	UsagePlans []string
}

// HTTPAPI is an API Gateway v2 API (HTTP or WebSocket).
type HTTPAPI struct {
	ID       string
	Name     string
	Protocol string // HTTP or WEBSOCKET
	Routes   []HTTPRoute
	Stages   []HTTPStage
}

// HTTPRoute is one route and the function behind it.
type HTTPRoute struct {
	Key               string // "GET /items", "$default"
	AuthorizationType string // NONE, AWS_IAM, JWT, CUSTOM
	APIKeyRequired    bool
	Function          string // empty when the route does not invoke Lambda
}

// HTTPStage is a stage of an HTTP API.
type HTTPStage struct {
	Name string
	// DefaultThrottled: the stage's default route settings set a rate or
	// burst limit.
	DefaultThrottled bool
	// ThrottledRoutes are the route keys with a limit of their own.
	ThrottledRoutes []string
}

// LoadBalancer is an application load balancer.
type LoadBalancer struct {
	ARN          string
	Name         string
	Scheme       string // internet-facing or internal
	Type         string // application
	TargetGroups []TargetGroup
	// WebACLARN is the web ACL protecting it; empty when none.
	WebACLARN string
	// WebACLKnown is false when that could not be read.
	WebACLKnown bool
}

// TargetGroup is a target group of target type lambda.
type TargetGroup struct {
	ARN       string
	Name      string
	Functions []string // target function ARNs
}

// WebACL is a regional WAF web ACL.
type WebACL struct {
	ARN  string
	Name string
	// RateLimited: a rule with a rate-based statement blocks (or
	// challenges) what passes its limit.
	RateLimited bool
	// Known is false when the web ACL's rules could not be read.
	Known bool
}

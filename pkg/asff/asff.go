// Package asff writes lambdawatch findings in the AWS Security Finding
// Format and imports them into Security Hub with BatchImportFindings.
//
// A finding's Id is stable for its rule, account, region, resource and
// principal (see ID), so that a later audit or event about the same grant
// updates the Security Hub finding instead of adding one; Archived marks
// one that is no longer seen. Importer sends findings within Security
// Hub's limits: 100 findings and 6 MB a call, 240 KB a finding, about 10
// calls a second, retrying throttled calls, and reports each finding
// Security Hub refuses by its Id.
package asff

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/lambdawatch/lambdawatch/pkg/awsid"
	"github.com/lambdawatch/lambdawatch/pkg/detect"
)

// SchemaVersion is the ASFF version written.
const SchemaVersion = "2018-10-08"

// GeneratorPrefix starts every GeneratorId: lambdawatch/<rule>.
const GeneratorPrefix = "lambdawatch/"

// ASFF's limits on the fields written, in characters.
const (
	MaxTitle       = 256
	MaxDescription = 1024
	MaxRemediation = 512
	MaxFieldKey    = 128
	MaxFieldValue  = 2048
	MaxFields      = 50
	MaxNote        = 512
)

// Finding types, namespace/category as ASFF defines them.
const (
	TypeBestPractices = "Software and Configuration Checks/AWS Security Best Practices"
	TypeDataExposure  = "Effects/Data Exposure"
	TypeDefenseEvade  = "TTPs/Defense Evasion"
)

// Product is the account and region that import the findings, whose
// default product receives them. BatchImportFindings must be called by
// the account each finding's AwsAccountId names.
type Product struct {
	Partition string // aws when empty
	Region    string
	Account   string
}

// ARN is the default product's ARN:
// arn:<partition>:securityhub:<region>:<account>:product/<account>/default.
func (p Product) ARN() string {
	return fmt.Sprintf("arn:%s:securityhub:%s:%s:product/%s/default", p.partition(), p.Region, p.Account, p.Account)
}

func (p Product) partition() string {
	if p.Partition == "" {
		return "aws"
	}
	return p.Partition
}

// ID is the finding's stable ASFF Id:
//
//	lambdawatch/<account>/<region>/<rule>/<digest>
//
// where the digest (128 bits of SHA-256, hex) covers the resource judged
// and the principal the finding names, if any: a grant to two accounts is
// two findings, and each event or audit that finds the same grant again
// has the same Id. A principal given as an account's root ARN and as its
// account ID is the same principal, since AddPermission takes the one and
// the stored policy shows the other.
func ID(f detect.Finding) string {
	sum := sha256.Sum256([]byte(resourceOf(f) + "\x00" + awsid.Principal(f.Principal)))
	return GeneratorPrefix + f.Account + "/" + f.Region + "/" + f.Rule + "/" + hex.EncodeToString(sum[:16])
}

func resourceOf(f detect.Finding) string {
	if f.ResourceARN != "" {
		return f.ResourceARN
	}
	return f.Resource()
}


// FromFinding is f in ASFF for p's default product, updated at now.
// Description is the finding's summary, Remediation its rule's remedy;
// text over ASFF's limits is cut visibly. A suppressed finding is imported
// with workflow SUPPRESSED and its reason as the note, which Security Hub
// keeps from the first import on (workflow and note then belong to the
// people working the finding).
func FromFinding(f detect.Finding, p Product, now time.Time) types.AwsSecurityFinding {
	rule, known := detect.RuleByID(f.Rule)
	title := f.Rule
	if known {
		title = rule.Title
	}
	description := f.Summary
	if description == "" {
		description = rule.Why
	}
	if description == "" {
		description = title
	}
	created := f.EventTime
	if created.IsZero() {
		created = now
	}
	account := f.Account
	if account == "" {
		account = p.Account
	}
	label := severityLabel(f.Severity)
	findingTypes := Types(f.Rule)
	out := types.AwsSecurityFinding{
		SchemaVersion: aws.String(SchemaVersion),
		Id:            aws.String(ID(f)),
		ProductArn:    aws.String(p.ARN()),
		GeneratorId:   aws.String(GeneratorPrefix + f.Rule),
		AwsAccountId:  aws.String(account),
		Types:         findingTypes,
		CreatedAt:     aws.String(timestamp(created)),
		UpdatedAt:     aws.String(timestamp(now)),
		Severity:      &types.Severity{Label: label, Original: aws.String(f.Severity.String())},
		// Security Hub takes severity and types from here on updates.
		FindingProviderFields: &types.FindingProviderFields{
			Severity: &types.FindingProviderSeverity{Label: label, Original: aws.String(f.Severity.String())},
			Types:    findingTypes,
		},
		Title:         aws.String(truncate(title, MaxTitle)),
		Description:   aws.String(truncate(description, MaxDescription)),
		Resources:     []types.Resource{resource(f, p)},
		ProductFields: productFields(f),
		RecordState:   types.RecordStateActive,
		Workflow:      &types.Workflow{Status: types.WorkflowStatusNew},
	}
	if !f.EventTime.IsZero() {
		out.FirstObservedAt = aws.String(timestamp(f.EventTime))
		out.LastObservedAt = aws.String(timestamp(f.EventTime))
	}
	if known && rule.Remedy != "" {
		out.Remediation = &types.Remediation{Recommendation: &types.Recommendation{Text: aws.String(truncate(rule.Remedy, MaxRemediation))}}
	}
	if f.Suppressed != "" {
		out.Workflow.Status = types.WorkflowStatusSuppressed
		out.Note = &types.Note{
			Text:      aws.String(truncate("Suppressed: "+f.Suppressed, MaxNote)),
			UpdatedBy: aws.String("lambdawatch"),
			UpdatedAt: aws.String(timestamp(now)),
		}
	}
	return out
}

// Archived is prev, a finding imported before (as FromFinding made it or
// GetFindings returned it), with RecordState ARCHIVED as of now: the
// resource or grant it describes is no longer there. What Security Hub
// adds to a finding itself (ProcessedAt, the aws/ product fields) is left
// out, since it is Security Hub's to set.
func Archived(prev types.AwsSecurityFinding, now time.Time) types.AwsSecurityFinding {
	prev.RecordState = types.RecordStateArchived
	prev.UpdatedAt = aws.String(timestamp(now))
	prev.ProcessedAt = nil
	if prev.ProductFields != nil {
		fields := make(map[string]string, len(prev.ProductFields))
		for k, v := range prev.ProductFields {
			if !strings.HasPrefix(k, "aws/") {
				fields[k] = v
			}
		}
		prev.ProductFields = fields
	}
	return prev
}

// Types are the ASFF finding types of a rule: tampering with logging or
// with lambdawatch itself is defense evasion, a grant to everyone exposes
// data, the rest are best-practice checks.
func Types(rule string) []string {
	switch rule {
	case detect.RuleTrailDisabled, detect.RuleMonitorTampering:
		return []string{TypeDefenseEvade}
	case detect.RulePublicInvoke, detect.RulePublicFunctionURL, detect.RuleFunctionURLAuthNone, detect.RulePublicLayer:
		return []string{TypeBestPractices, TypeDataExposure}
	}
	return []string{TypeBestPractices}
}

func severityLabel(s detect.Severity) types.SeverityLabel {
	switch s {
	case detect.Critical:
		return types.SeverityLabelCritical
	case detect.High:
		return types.SeverityLabelHigh
	case detect.Medium:
		return types.SeverityLabelMedium
	case detect.Low:
		return types.SeverityLabelLow
	}
	return types.SeverityLabelInformational
}

// resourceTypes are ASFF's resource types for lambdawatch's; the rest are
// Other.
var resourceTypes = map[detect.ResourceType]string{
	detect.TypeFunction:     "AwsLambdaFunction",
	detect.TypeAlias:        "AwsLambdaFunction",
	detect.TypeVersion:      "AwsLambdaFunction",
	detect.TypeFunctionURL:  "AwsLambdaFunction",
	detect.TypeLayerVersion: "AwsLambdaLayerVersion",
	detect.TypeTrail:        "AwsCloudTrailTrail",
	detect.TypeEventBus:     "AwsEventsEventbus",
	detect.TypeTopic:        "AwsSnsTopic",
	detect.TypeQueue:        "AwsSqsQueue",
}

func resource(f detect.Finding, p Product) types.Resource {
	id := resourceOf(f)
	if id == "" {
		// Nothing named: the account is what the finding is about.
		return types.Resource{Type: aws.String("AwsAccount"), Id: aws.String("AWS::::Account:" + f.Account)}
	}
	kind, ok := resourceTypes[f.ResourceType]
	if !ok {
		kind = "Other"
	}
	r := types.Resource{Type: aws.String(kind), Id: aws.String(id)}
	partition := p.partition()
	if a, err := awsid.ParseARN(id); err == nil {
		partition = a.Partition
	}
	for _, known := range types.Partition("").Values() {
		if string(known) == partition {
			r.Partition = known
		}
	}
	if f.Region != "" {
		r.Region = aws.String(f.Region)
	}
	return r
}

// productFields carries what ASFF has no field for, under lambdawatch/.
func productFields(f detect.Finding) map[string]string {
	fields := map[string]string{}
	add := func(key, value string) {
		if value != "" && len(fields) < MaxFields {
			fields[truncate("lambdawatch/"+key, MaxFieldKey)] = truncate(value, MaxFieldValue)
		}
	}
	add("rule", f.Rule)
	add("eventID", f.EventID)
	add("eventName", f.EventName)
	add("outcome", f.Outcome)
	add("resourceType", string(f.ResourceType))
	add("principal", f.Principal)
	add("action", f.Action)
	add("statementID", f.StatementID)
	add("conditions", strings.Join(f.Conditions, "; "))
	add("actor", f.Actor)
	add("sourceIPAddress", f.SourceIPAddress)
	add("userAgent", f.UserAgent)
	add("errorCode", f.ErrorCode)
	add("errorMessage", f.ErrorMessage)
	add("runtime", f.Runtime)
	add("functionURL", f.FunctionURL)
	add("suppressed", f.Suppressed)
	if len(fields) == 0 {
		return nil
	}
	return fields
}

// timestamp is ASFF's date form, RFC 3339 in UTC with milliseconds.
func timestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// truncate cuts s to at most limit characters, saying so at the end.
func truncate(s string, limit int) string {
	if utf8.RuneCountInString(s) <= limit {
		return s
	}
	runes := []rune(s)
	for keep := limit; keep > 0; keep-- {
		marker := " …[cut " + strconv.Itoa(len(runes)-keep) + " characters]"
		if n := utf8.RuneCountInString(marker); keep+n <= limit {
			return string(runes[:keep]) + marker
		}
	}
	return string(runes[:limit])
}

// JSON is the finding as Security Hub receives it: ASFF's field names,
// absent fields left out, keys in a fixed order. Importer measures
// findings with it.
func JSON(f types.AwsSecurityFinding) ([]byte, error) {
	raw, err := json.Marshal(f)
	if err != nil {
		return nil, fmt.Errorf("asff %s: %w", aws.ToString(f.Id), err)
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("asff %s: %w", aws.ToString(f.Id), err)
	}
	v, _ = prune(v)
	return json.Marshal(v)
}

// prune drops nulls, empty strings and what is left empty by dropping
// them, as the SDK leaves out unset fields.
func prune(v any) (any, bool) {
	switch x := v.(type) {
	case nil:
		return nil, false
	case string:
		return x, x != ""
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if pv, ok := prune(x[k]); ok {
				x[k] = pv
			} else {
				delete(x, k)
			}
		}
		return x, len(x) > 0
	case []any:
		out := x[:0]
		for _, e := range x {
			if pv, ok := prune(e); ok {
				out = append(out, pv)
			}
		}
		return out, len(out) > 0
	}
	return v, true
}

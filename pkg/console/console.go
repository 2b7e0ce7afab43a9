// Package console builds links to the AWS console pages a reader of an
// alert wants: the function's (or layer's) permissions, the trail,
// EventBridge rule, topic or queue a finding names, and the CloudTrail
// event. The email and the Slack message both show them.
package console

import (
	"net/url"
	"regexp"
	"strings"

	"github.com/lambdawatch/lambdawatch/pkg/awsid"
	"github.com/lambdawatch/lambdawatch/pkg/detect"
)

// Console links are built only from values shaped like AWS's own, so that
// no text from a record (a failed call can carry any function name) lands
// in a link, whether in a mail or inside a Slack <url|label>. Every part
// is escaped besides, in case a pattern is ever loosened. Regions and
// account IDs are awsid's.
var (
	// namePattern: a function or layer name, as Lambda allows them.
	namePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,140}$`)
	// aliasPattern: an alias name (a version is all digits).
	aliasPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)
	// trailPattern, rulePattern, topicPattern, queuePattern: the names
	// CloudTrail, EventBridge, SNS and SQS allow (.fifo included).
	trailPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{2,127}$`)
	rulePattern  = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
	topicPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}(\.fifo)?$`)
	queuePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}(\.fifo)?$`)
	// eventIDPattern: CloudTrail event IDs are UUIDs.
	eventIDPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
)

// consoleBase is the console's origin for a region, by partition; "" for
// a string that is no region, for the isolated partitions, whose consoles
// no reader of an alert can reach from the internet, and for the European
// Sovereign Cloud, whose console addresses by region are not known here.
func consoleBase(region string) string {
	p, _ := awsid.Partition(region)
	switch p {
	case awsid.PartitionAWS:
		return "https://" + region + ".console.aws.amazon.com"
	case awsid.PartitionChina:
		return "https://" + region + ".console.amazonaws.cn"
	case awsid.PartitionGovCloud:
		return "https://console.amazonaws-us-gov.com"
	}
	return ""
}

// Links are a finding's console pages.
type Links struct {
	Permissions string // the function's permissions, or the layer
	Resource    string // the trail, EventBridge rule, SNS topic or SQS queue
	Event       string
}

// For builds f's console links. A link whose parts do not look
// like AWS names (see the patterns above) is left empty, and so are all
// when f's region is not a region name (awsid.IsRegion) or its console
// cannot be linked (consoleBase).
func For(f detect.Finding) Links {
	base := consoleBase(f.Region)
	if base == "" {
		return Links{}
	}
	home := base + "/lambda/home?region=" + url.QueryEscape(f.Region)
	var l Links
	switch {
	case f.Function != "":
		name, qual := SplitFunction(f.Function)
		if !namePattern.MatchString(name) {
			break
		}
		page := "#/functions/" + url.PathEscape(name)
		switch {
		case qual == "", qual == "$LATEST":
		case isDigits(qual):
			page += "/versions/" + qual
		case aliasPattern.MatchString(qual):
			page += "/aliases/" + url.PathEscape(qual)
		default:
			// Not a qualifier Lambda accepts: link the function itself.
		}
		l.Permissions = home + page + "?tab=permissions"
	case f.Layer != "":
		name, version := SplitLayer(f.Layer)
		if !namePattern.MatchString(name) {
			break
		}
		page := "#/layers/" + url.PathEscape(name)
		if isDigits(version) {
			page += "/versions/" + version
		}
		l.Permissions = home + page
	default:
		l.Resource = resourcePage(f, base)
	}
	if eventIDPattern.MatchString(f.EventID) {
		l.Event = base + "/cloudtrailv2/home?region=" + url.QueryEscape(f.Region) + "#/events/" + url.PathEscape(f.EventID)
	}
	return l
}

// resourcePage links the trail, rule, topic or queue f names. ARNs and
// URLs are rebuilt from checked parts, never passed on as given.
func resourcePage(f detect.Finding, base string) string {
	region := url.QueryEscape(f.Region)
	partition, _ := awsid.Partition(f.Region)
	switch {
	case f.Trail != "":
		name, account := f.Trail, f.Account
		if a, err := awsid.ParseARN(f.Trail); err == nil {
			name, account = strings.TrimPrefix(a.Resource, "trail/"), a.Account
		}
		if !trailPattern.MatchString(name) || !awsid.IsAccountID(account) {
			return ""
		}
		arn := awsid.ARN{Partition: partition, Service: "cloudtrail", Region: f.Region, Account: account, Resource: "trail/" + name}.String()
		return base + "/cloudtrailv2/home?region=" + region + "#/trails/" + arn
	case f.EventRule != "":
		bus, name, ok := strings.Cut(f.EventRule, "/")
		if !ok {
			bus, name = "default", f.EventRule
		}
		if !rulePattern.MatchString(bus) || !rulePattern.MatchString(name) {
			return ""
		}
		return base + "/events/home?region=" + region + "#/eventbus/" + url.PathEscape(bus) + "/rules/" + url.PathEscape(name)
	case f.Topic != "":
		a, err := awsid.ParseARN(f.Topic)
		if err != nil || a.Service != "sns" || a.Region != f.Region || !awsid.IsAccountID(a.Account) || !topicPattern.MatchString(a.Resource) {
			return ""
		}
		arn := awsid.ARN{Partition: partition, Service: "sns", Region: f.Region, Account: a.Account, Resource: a.Resource}.String()
		return base + "/sns/v3/home?region=" + region + "#/topic/" + arn
	case f.Queue != "":
		// https://sqs.region.amazonaws.com/account/name, or an ARN.
		var account, name string
		if a, err := awsid.ParseARN(f.Queue); err == nil {
			account, name = a.Account, a.Resource
		} else if parts := strings.Split(f.Queue, "/"); len(parts) >= 2 {
			account, name = parts[len(parts)-2], parts[len(parts)-1]
		}
		if !awsid.IsAccountID(account) || !queuePattern.MatchString(name) {
			return ""
		}
		host := "sqs." + f.Region + ".amazonaws.com"
		if partition == awsid.PartitionChina {
			host += ".cn"
		}
		return base + "/sqs/v3/home?region=" + region + "#/queues/" + url.QueryEscape("https://"+host+"/"+account+"/"+name)
	}
	return ""
}

// SplitFunction reads a function name in any of the forms Lambda accepts
// (name, name:qualifier, partial or full ARN) into name and qualifier.
func SplitFunction(s string) (name, qualifier string) {
	if i := strings.LastIndex(s, "function:"); i >= 0 && (i == 0 || s[i-1] == ':') {
		s = s[i+len("function:"):]
	}
	name, qualifier, _ = strings.Cut(s, ":")
	return name, qualifier
}

// SplitLayer reads a layer name or (version) ARN into name and version.
func SplitLayer(s string) (name, version string) {
	if i := strings.LastIndex(s, "layer:"); i >= 0 && (i == 0 || s[i-1] == ':') {
		s = s[i+len("layer:"):]
	}
	name, version, _ = strings.Cut(s, ":")
	return name, version
}

func isDigits(s string) bool {
	if s == "" || len(s) > 10 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

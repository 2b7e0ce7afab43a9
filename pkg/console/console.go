// Package console builds links to the AWS console pages a reader of an
// alert wants: the function's (or layer's) permissions, the trail,
// EventBridge rule, topic or queue a finding names, and the CloudTrail
// event. The email and the Slack message both show them.
package console

import (
	"net/url"
	"regexp"
	"strings"

	"github.com/lambdawatch/lambdawatch/pkg/detect"
)

// Console links are built only from values shaped like AWS's own, so that
// no text from a record (a failed call can carry any function name) lands
// in a link, whether in a mail or inside a Slack <url|label>. Every part
// is escaped besides, in case a pattern is ever loosened.
var (
	// regionPattern: eu-west-1, us-gov-west-1, ap-southeast-5.
	regionPattern = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$`)
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
	// accountPattern: a 12-digit account ID.
	accountPattern = regexp.MustCompile(`^[0-9]{12}$`)
	// eventIDPattern: CloudTrail event IDs are UUIDs.
	eventIDPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
)

// ValidRegion reports whether s looks like an AWS region name.
func ValidRegion(s string) bool { return regionPattern.MatchString(s) }

// consoleBase is the console's origin for a region, by partition; "" for
// the isolated partitions, whose consoles no reader of an alert can reach
// from the internet.
func consoleBase(region string) string {
	switch {
	case strings.HasPrefix(region, "us-iso"), strings.HasPrefix(region, "eu-isoe-"):
		return ""
	case strings.HasPrefix(region, "cn-"):
		return "https://" + region + ".console.amazonaws.cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "https://console.amazonaws-us-gov.com"
	}
	return "https://" + region + ".console.aws.amazon.com"
}

// Links are a finding's console pages.
type Links struct {
	Permissions string // the function's permissions, or the layer
	Resource    string // the trail, EventBridge rule, SNS topic or SQS queue
	Event       string
}

// For builds f's console links. A link whose parts do not look
// like AWS names (see the patterns above) is left empty, and so are both
// when f's region is not a region name.
func For(f detect.Finding) Links {
	if !ValidRegion(f.Region) {
		return Links{}
	}
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
	switch {
	case f.Trail != "":
		name, account := f.Trail, f.Account
		if a, ok := splitARN(f.Trail); ok {
			name, account = strings.TrimPrefix(a.resource, "trail/"), a.account
		}
		if !trailPattern.MatchString(name) || !accountPattern.MatchString(account) {
			return ""
		}
		arn := "arn:" + partition(f.Region) + ":cloudtrail:" + f.Region + ":" + account + ":trail/" + name
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
		a, ok := splitARN(f.Topic)
		if !ok || a.service != "sns" || a.region != f.Region || !accountPattern.MatchString(a.account) || !topicPattern.MatchString(a.resource) {
			return ""
		}
		arn := "arn:" + partition(f.Region) + ":sns:" + f.Region + ":" + a.account + ":" + a.resource
		return base + "/sns/v3/home?region=" + region + "#/topic/" + arn
	case f.Queue != "":
		// https://sqs.region.amazonaws.com/account/name, or an ARN.
		var account, name string
		if a, ok := splitARN(f.Queue); ok {
			account, name = a.account, a.resource
		} else if parts := strings.Split(f.Queue, "/"); len(parts) >= 2 {
			account, name = parts[len(parts)-2], parts[len(parts)-1]
		}
		if !accountPattern.MatchString(account) || !queuePattern.MatchString(name) {
			return ""
		}
		host := "sqs." + f.Region + ".amazonaws.com"
		if strings.HasPrefix(f.Region, "cn-") {
			host += ".cn"
		}
		return base + "/sqs/v3/home?region=" + region + "#/queues/" + url.QueryEscape("https://"+host+"/"+account+"/"+name)
	}
	return ""
}

type arnParts struct{ service, region, account, resource string }

func splitARN(s string) (arnParts, bool) {
	p := strings.SplitN(s, ":", 6)
	if len(p) != 6 || p[0] != "arn" {
		return arnParts{}, false
	}
	return arnParts{service: p[2], region: p[3], account: p[4], resource: p[5]}, true
}

func partition(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	}
	return "aws"
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

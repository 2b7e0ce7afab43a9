package slackalert

import (
	"net/url"
	"regexp"
	"strings"

	"github.com/lambdawatch/lambdawatch/pkg/detect"
)

// Console links are built only from values that match these patterns, so
// no attacker text can land inside a <url|label> link. Other partitions
// (China, GovCloud) use other console hosts: they get no link.
var (
	regionRE   = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$`)
	nameRE     = regexp.MustCompile(`^[A-Za-z0-9_-]{1,140}$`)
	eventIDRE  = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	versionRE  = regexp.MustCompile(`^[0-9]{1,10}$`)
	otherParts = []string{"cn-", "us-gov-", "us-iso", "eu-isoe-"}
)

// consoleRegion returns the finding's region if links can use it.
func consoleRegion(region string) (string, bool) {
	if !regionRE.MatchString(region) {
		return "", false
	}
	for _, p := range otherParts {
		if strings.HasPrefix(region, p) {
			return "", false
		}
	}
	return region, true
}

// resourceName reads a function or layer name from a name or an ARN
// (arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER] or
// ...:layer:NAME[:VERSION]). It reports false for anything else.
func resourceName(s, kind string) (name, version string, ok bool) {
	if nameRE.MatchString(s) {
		return s, "", true
	}
	parts := strings.Split(s, ":")
	if len(parts) < 7 || len(parts) > 8 || parts[0] != "arn" || parts[2] != "lambda" || parts[5] != kind {
		return "", "", false
	}
	if !nameRE.MatchString(parts[6]) {
		return "", "", false
	}
	if len(parts) == 8 {
		version = parts[7]
	}
	return parts[6], version, true
}

func consoleBase(region string) string {
	return "https://" + region + ".console.aws.amazon.com/"
}

// FunctionLink is the Lambda console page of the finding's function (or
// layer), or "" when the names do not look like AWS names.
func FunctionLink(f detect.Finding) string {
	region, ok := consoleRegion(f.Region)
	if !ok {
		return ""
	}
	q := "lambda/home?region=" + url.QueryEscape(region)
	if f.Function != "" {
		name, _, ok := resourceName(f.Function, "function")
		if !ok {
			return ""
		}
		return consoleBase(region) + q + "#/functions/" + url.PathEscape(name) + "?tab=permissions"
	}
	if f.Layer != "" {
		name, version, ok := resourceName(f.Layer, "layer")
		if !ok {
			return ""
		}
		link := consoleBase(region) + q + "#/layers/" + url.PathEscape(name)
		if versionRE.MatchString(version) {
			link += "/versions/" + version
		}
		return link
	}
	return ""
}

// EventLink is the CloudTrail event history page of the finding's event,
// or "" when the region or event ID do not look like AWS ones.
func EventLink(f detect.Finding) string {
	region, ok := consoleRegion(f.Region)
	if !ok || !eventIDRE.MatchString(f.EventID) {
		return ""
	}
	return consoleBase(region) + "cloudtrailv2/home?region=" + url.QueryEscape(region) +
		"#/events/" + url.PathEscape(f.EventID)
}

// link is a mrkdwn link; url must be one of ours (built above) and label
// our own text.
func link(u, label string) string {
	return "<" + u + "|" + label + ">"
}

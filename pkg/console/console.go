// Package console builds links to the AWS console pages a reader of an
// alert wants: the function's (or layer's) permissions and the CloudTrail
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
	Permissions string
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
	}
	if eventIDPattern.MatchString(f.EventID) {
		l.Event = base + "/cloudtrailv2/home?region=" + url.QueryEscape(f.Region) + "#/events/" + url.PathEscape(f.EventID)
	}
	return l
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

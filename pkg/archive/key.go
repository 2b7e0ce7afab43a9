// Package archive finds CloudTrail log files in archives, local folders or
// S3 buckets, by the layout CloudTrail writes them in:
//
//	[prefix/]AWSLogs/[o-orgid/]account/CloudTrail/region/YYYY/MM/DD/account_CloudTrail_region_YYYYMMDDTHHmmZ_random.json.gz
//
// and filters them by time, account and region from their keys alone, so a
// walk can skip whole folders before listing them.
package archive

import (
	"strings"
	"time"

	"github.com/lambdawatch/lambdawatch/pkg/awsid"
)

// Key is what a CloudTrail log file's key says about it.
type Key struct {
	OrgID   string    // o-xxxxxxxxxx for an organization trail, else empty
	Account string    // the account the records come from
	Region  string    // the region the records come from
	Day     time.Time // the day folder, midnight UTC
	// Log is set when the file is named as CloudTrail names log files,
	// with the account, region and day of its folders.
	Log bool
	// Delivered is the time in a log file's name (minute precision, UTC);
	// zero unless Log.
	Delivered time.Time
}

// ParseKey reads a file's key or relative path (forward slashes) in the
// CloudTrail layout, wherever AWSLogs/ sits in it. It reports false for keys
// outside the layout, including digest and insight files and files that
// are not directly in a day folder.
func ParseKey(key string) (Key, bool) {
	p := parse(key, true)
	if !p.complete || p.other || p.extra {
		return Key{}, false
	}
	return Key{OrgID: p.org, Account: p.account, Region: p.region, Day: p.day, Log: p.log, Delivered: p.delivered}, true
}

// The names of the layout's fixed folders.
const (
	logsFolder  = "AWSLogs"
	trailFolder = "CloudTrail"
)

// parsed is how far a key or folder follows the layout, and what it says.
// Folders are read one at a time, so a folder's parse is a prefix of the
// parse of every key below it: what Descend rules out, Keep rules out too.
type parsed struct {
	anchored bool   // AWSLogs/ followed by an organization or account folder
	other    bool   // a digest or insight file or folder, or another service's logs
	broken   bool   // anchored, but the layout breaks off before the day folder
	complete bool   // the layout holds down to the day folder
	extra    bool   // folders below the day folder
	lastLogs bool   // the last folder is AWSLogs: whether it is the layout's is not known yet
	org      string // known fields, as far as the layout held
	account  string
	region   string
	// lo and hi bound the delivery times of the files below, [lo, hi):
	// a year, month or day folder, or the minute in a log file's name.
	lo, hi    time.Time
	day       time.Time
	log       bool
	delivered time.Time
}

// parse reads key, a file (file set) or a folder (a trailing slash is
// optional), segment by segment.
func parse(key string, file bool) parsed {
	var p parsed
	segs := strings.Split(key, "/")
	name := ""
	if file {
		name, segs = segs[len(segs)-1], segs[:len(segs)-1]
	} else if len(segs) > 0 && segs[len(segs)-1] == "" {
		segs = segs[:len(segs)-1]
	}
	// Digests list log files and insight files hold no API calls; the
	// local walk skips them wherever they are, and so does this.
	for _, s := range segs {
		if skipped(s) {
			p.other = true
			return p
		}
	}
	if skipped(name) {
		p.other = true
		return p
	}
	at := -1
	for i, s := range segs {
		if s == logsFolder && i+1 < len(segs) && (awsid.IsOrgID(segs[i+1]) || awsid.IsAccountID(segs[i+1])) {
			at = i
			break
		}
	}
	if at < 0 {
		p.lastLogs = len(segs) > 0 && segs[len(segs)-1] == logsFolder
		return p
	}
	p.anchored = true
	rest := segs[at+1:]
	next := func() (string, bool) {
		if len(rest) == 0 {
			if file {
				p.broken = true // a file above the day folder
			}
			return "", false
		}
		s := rest[0]
		rest = rest[1:]
		return s, true
	}
	if awsid.IsOrgID(rest[0]) {
		p.org = rest[0]
		rest = rest[1:]
	}
	s, ok := next()
	if !ok {
		return p
	}
	if !awsid.IsAccountID(s) {
		p.broken = true
		return p
	}
	p.account = s
	if s, ok = next(); !ok {
		return p
	}
	if s != trailFolder {
		// Another service's logs (Config, load balancers, flow logs).
		p.other = true
		return p
	}
	if s, ok = next(); !ok {
		return p
	}
	if !awsid.IsRegion(s) {
		p.broken = true
		return p
	}
	p.region = s
	if s, ok = next(); !ok {
		return p
	}
	year, ok := number(s, 4, 1, 9999)
	if !ok {
		p.broken = true
		return p
	}
	p.lo = time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC)
	p.hi = p.lo.AddDate(1, 0, 0)
	if s, ok = next(); !ok {
		return p
	}
	month, ok := number(s, 2, 1, 12)
	if !ok {
		p.broken = true
		return p
	}
	p.lo = time.Date(year, time.Month(month), 1, 0, 0, 0, 0, time.UTC)
	p.hi = p.lo.AddDate(0, 1, 0)
	if s, ok = next(); !ok {
		return p
	}
	day, ok := number(s, 2, 1, 31)
	if !ok || time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC).Month() != time.Month(month) {
		p.broken = true
		return p
	}
	p.lo = time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC)
	p.hi = p.lo.AddDate(0, 0, 1)
	p.day = p.lo
	p.complete = true
	if len(rest) > 0 {
		p.extra = true
		return p
	}
	if file {
		if t, ok := logName(name, p.account, p.region); ok && t.Truncate(24*time.Hour).Equal(p.day) {
			p.log, p.delivered = true, t
			p.lo, p.hi = t, t.Add(time.Minute)
		}
	}
	return p
}

// skipped says whether a file or folder name is CloudTrail's but holds no
// API calls: digest files, insight events.
func skipped(name string) bool {
	return strings.Contains(name, "CloudTrail-Digest") || strings.Contains(name, "CloudTrail-Insight")
}

// logName reads the delivery time from a log file's name,
// account_CloudTrail_region_YYYYMMDDTHHmmZ_random.json.gz.
func logName(name, account, region string) (time.Time, bool) {
	base, ok := strings.CutSuffix(name, ".json.gz")
	if !ok {
		return time.Time{}, false
	}
	f := strings.Split(base, "_")
	if len(f) != 5 || f[0] != account || f[1] != trailFolder || f[2] != region || f[4] == "" || !alnum(f[4]) {
		return time.Time{}, false
	}
	t, err := time.Parse("20060102T1504Z", f[3])
	if err != nil {
		return time.Time{}, false
	}
	return t, true
}

// number reads a folder of exactly n digits in [lo, hi].
func number(s string, n, lo, hi int) (int, bool) {
	if len(s) != n || !digits(s) {
		return 0, false
	}
	v := 0
	for _, c := range []byte(s) {
		v = v*10 + int(c-'0')
	}
	return v, v >= lo && v <= hi
}

func digits(s string) bool {
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

func alnum(s string) bool {
	for _, c := range []byte(s) {
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

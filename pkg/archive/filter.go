package archive

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lambdawatch/lambdawatch/pkg/awsid"
	"github.com/lambdawatch/lambdawatch/pkg/cloudtrail"
)

// DeliveryMargin widens the time bounds when files are judged by their keys:
// CloudTrail delivers a call's record minutes after it (usually about 5, not
// guaranteed), so a call made just before Until lies in a file delivered
// after it. Records themselves are judged exactly with Filter.InTime.
const DeliveryMargin = time.Hour

// Filter selects log files by their keys. Zero values set no bound.
type Filter struct {
	Since    time.Time // calls at or after this
	Until    time.Time // calls at or before this (inclusive)
	Accounts []string  // only these accounts
	Regions  []string  // only these regions
}

// Validate reports bounds that can match nothing and malformed accounts or
// regions, naming each.
func (f Filter) Validate() error {
	var errs []error
	if !f.Since.IsZero() && !f.Until.IsZero() && f.Until.Before(f.Since) {
		errs = append(errs, fmt.Errorf("until %s is before since %s", f.Until.UTC().Format(time.RFC3339), f.Since.UTC().Format(time.RFC3339)))
	}
	for _, a := range f.Accounts {
		if !awsid.IsAccountID(a) {
			errs = append(errs, fmt.Errorf("account %q: want 12 digits", a))
		}
	}
	for _, r := range f.Regions {
		if !awsid.IsRegion(r) {
			errs = append(errs, fmt.Errorf("region %q: want a region name such as eu-west-1", r))
		}
	}
	return errors.Join(errs...)
}

// Bounded says whether any bound is set.
func (f Filter) Bounded() bool {
	return !f.Since.IsZero() || !f.Until.IsZero() || len(f.Accounts) > 0 || len(f.Regions) > 0
}

// Keep says whether a file, by its key or relative path, is worth scanning:
// a record file (.json, .jsonl, .ndjson, .gz) that is no digest or insight
// file nor another service's log, whose account, region and time, as far as
// its key tells them, are within the bounds. A key outside the layout is
// kept: see Unfiltered.
func (f Filter) Keep(key string) bool {
	keep, _ := f.check(key)
	return keep
}

// Unfiltered says whether Keep keeps key without having applied every bound
// set, because the key lies outside the layout and does not tell its
// account, region or time. Callers count these to warn about them.
func (f Filter) Unfiltered(key string) bool {
	_, unfiltered := f.check(key)
	return unfiltered
}

// check is Keep and Unfiltered, with one parse.
func (f Filter) check(key string) (keep, unfiltered bool) {
	if !cloudtrail.RecordFile(key) {
		return false, false
	}
	p := parse(key, true)
	if p.other || !f.match(p) {
		return false, false
	}
	return true, (len(f.Accounts) > 0 && p.account == "") ||
		(len(f.Regions) > 0 && p.region == "") ||
		((!f.Since.IsZero() || !f.Until.IsZero()) && p.lo.IsZero())
}

// Descend says whether the folder prefix (a trailing slash is optional) may
// hold a key Keep keeps, so a walk can skip accounts, regions, years, months
// and days out of bounds, and digest and insight folders.
func (f Filter) Descend(prefix string) bool {
	p := parse(prefix, false)
	return !p.other && f.match(p)
}

// InTime says whether a call's time is within the bounds, for judging
// records one by one.
func (f Filter) InTime(t time.Time) bool {
	return (f.Since.IsZero() || !t.Before(f.Since)) && (f.Until.IsZero() || !t.After(f.Until))
}

// match applies the bounds to what p knows.
func (f Filter) match(p parsed) bool {
	if p.account != "" && len(f.Accounts) > 0 && !slices.Contains(f.Accounts, p.account) {
		return false
	}
	if p.region != "" && len(f.Regions) > 0 && !slices.Contains(f.Regions, p.region) {
		return false
	}
	if p.lo.IsZero() {
		return true
	}
	if !f.Since.IsZero() && !p.hi.After(f.Since.Add(-DeliveryMargin)) {
		return false
	}
	if !f.Until.IsZero() && p.lo.After(f.Until.Add(DeliveryMargin)) {
		return false
	}
	return true
}

// ParseTime reads a --since or --until value: a date (2026-01-02, midnight
// UTC), an RFC 3339 time (2026-01-02T15:04:05Z), or a duration back from
// now: a whole number of minutes, hours, days or weeks (30m, 36h, 90d, 2w).
func ParseTime(s string, now time.Time) (time.Time, error) {
	t, _, err := parseTime(s, now)
	return t, err
}

// ParseUntil reads an --until value as ParseTime does, except that a date
// means the whole of that day: its last instant.
func ParseUntil(s string, now time.Time) (time.Time, error) {
	t, date, err := parseTime(s, now)
	if date {
		t = t.AddDate(0, 0, 1).Add(-time.Nanosecond)
	}
	return t, err
}

func parseTime(s string, now time.Time) (t time.Time, date bool, err error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, true, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, false, nil
	}
	if d, ok := backFrom(s); ok {
		return now.Add(-d), false, nil
	}
	return time.Time{}, false, fmt.Errorf("%q: want a date (2026-01-02), an RFC 3339 time (2026-01-02T15:04:05Z) or a duration back from now (30m, 36h, 90d, 2w)", s)
}

// backFrom reads a duration such as 90d: digits, then one unit.
func backFrom(s string) (time.Duration, bool) {
	if len(s) < 2 {
		return 0, false
	}
	units := map[byte]time.Duration{'m': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour}
	unit, ok := units[s[len(s)-1]]
	if !ok || !digits(s[:len(s)-1]) {
		return 0, false
	}
	n, err := strconv.ParseInt(s[:len(s)-1], 10, 64)
	// A bound further back than a hundred years is a typo.
	if err != nil || n > int64(100*365*24*time.Hour/unit) {
		return 0, false
	}
	return time.Duration(n) * unit, true
}

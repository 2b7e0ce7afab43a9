package detect

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/lambdawatch/lambdawatch/pkg/cloudtrail"
)

// trailRequest holds the CloudTrail request fields the trail rule reads.
// The selector lists stay raw and are read element by element, so that
// one unreadable selector hides no other.
type trailRequest struct {
	Name                   text            `json:"name"`
	TrailName              text            `json:"trailName"`
	EventSelectors         json.RawMessage `json:"eventSelectors"`
	AdvancedEventSelectors json.RawMessage `json:"advancedEventSelectors"`
	IsMultiRegionTrail     text            `json:"isMultiRegionTrail"`
	IsOrganizationTrail    text            `json:"isOrganizationTrail"`
}

type eventSelector struct {
	ReadWriteType                 text   `json:"readWriteType"`
	IncludeManagementEvents       text   `json:"includeManagementEvents"`
	ExcludeManagementEventSources []text `json:"excludeManagementEventSources"`
}

type advancedSelector struct {
	Name           text            `json:"name"`
	FieldSelectors json.RawMessage `json:"fieldSelectors"`
}

type fieldSelector struct {
	Field         text   `json:"field"`
	Equals        []text `json:"equals"`
	NotEquals     []text `json:"notEquals"`
	StartsWith    []text `json:"startsWith"`
	NotStartsWith []text `json:"notStartsWith"`
	EndsWith      []text `json:"endsWith"`
	NotEndsWith   []text `json:"notEndsWith"`
}

// trailCalls are the calls that can stop a trail recording what the rules
// read. PutInsightSelectors is not among them: Insights analyse the
// events still recorded, and no change to them drops any.
var trailCalls = []*event{
	{Call{sourceCloudTrail, "StopLogging"}, (*Engine).judgeTrail},
	{Call{sourceCloudTrail, "DeleteTrail"}, (*Engine).judgeTrail},
	{Call{sourceCloudTrail, "PutEventSelectors"}, (*Engine).judgeTrail},
	{Call{sourceCloudTrail, "UpdateTrail"}, (*Engine).judgeTrail},
}

// judgeTrail raises trail-disabled for calls that stop a trail recording
// the write management events lambdawatch reads. It raises it whoever the
// caller, CloudFormation included: a trail that stops recording blinds
// every reader of it, deployment or not.
func (e *Engine) judgeTrail(rec cloudtrail.Record) ([]verdict, error) {
	var req trailRequest
	errs := []error{decodeParams(rec.RequestParameters, "requestParameters", &req)}
	trail := orDefault(string(req.Name), string(req.TrailName))
	shown := "trail " + orDefault(trail, unrecordedName)

	var act phrase
	switch rec.Action() {
	case "StopLogging":
		act = phrase{verb: "stop", object: "logging on " + shown}
	case "DeleteTrail":
		act = phrase{verb: "delete", object: shown}
	case "UpdateTrail":
		var lost []string
		if isFalse(req.IsMultiRegionTrail) {
			lost = append(lost, "other regions")
		}
		if isFalse(req.IsOrganizationTrail) {
			lost = append(lost, "the organization's other accounts")
		}
		if len(lost) == 0 {
			return nil, errors.Join(errs...)
		}
		act = phrase{verb: "change", object: shown + " to stop recording management events of " + strings.Join(lost, " and ")}
	case "PutEventSelectors":
		lost, err := e.unrecordedSources(req)
		errs = append(errs, err)
		if len(lost) == 0 {
			return nil, errors.Join(errs...)
		}
		what := "write management events of " + strings.Join(lost, ", ")
		if len(lost) == len(Watched) {
			what = "the write management events lambdawatch reads"
		}
		act = phrase{verb: "change", object: "event selectors of " + shown + " so that it no longer records " + what}
	}
	owner := ownerOf(rec, trail)
	res := Resource{Type: TypeTrail, Account: owner, Region: rec.AWSRegion, Name: trail, ARN: trail}
	if !strings.HasPrefix(trail, "arn:") {
		res.ARN = arnIn(rec, owner, "cloudtrail", "trail/"+trail, trail)
	}
	v := verdict{rule: RuleTrailDisabled, res: res, act: act, fill: func(f *Finding) { f.Trail = trail }}
	return []verdict{v}, errors.Join(errs...)
}

// unrecordedSources lists the watched event sources whose write management
// events the selectors a PutEventSelectors call sets no longer record,
// none when the request shows no selectors (it was not recorded in full).
// A selector that cannot be read counts as recording everything: an
// unreadable record raises no alarm of its own, only an error.
func (e *Engine) unrecordedSources(req trailRequest) ([]string, error) {
	var (
		errs    []error
		records []func(source string) bool // one per readable selector
		given   bool
	)
	if raw, ok := listOf(req.EventSelectors); ok {
		given = true
		errs = append(errs, eachElement(raw, "requestParameters.eventSelectors", func(field string, elem json.RawMessage) error {
			var s eventSelector
			err := decodeParams(elem, field, &s)
			if err != nil && !isObject(elem) {
				records = append(records, func(string) bool { return true })
				return err
			}
			records = append(records, s.records)
			return err
		}))
	} else if len(bytes.TrimSpace(req.EventSelectors)) > 0 && string(bytes.TrimSpace(req.EventSelectors)) != "null" {
		errs = append(errs, errors.New("requestParameters.eventSelectors: want an array"))
	}
	if raw, ok := listOf(req.AdvancedEventSelectors); ok {
		given = true
		errs = append(errs, eachElement(raw, "requestParameters.advancedEventSelectors", func(field string, elem json.RawMessage) error {
			var s advancedSelector
			err := decodeParams(elem, field, &s)
			var fields []fieldSelector
			unreadable := err != nil && !isObject(elem)
			if fr, ok := listOf(s.FieldSelectors); ok {
				ferr := eachElement(fr, field+".fieldSelectors", func(ff string, fe json.RawMessage) error {
					var fs fieldSelector
					err := decodeParams(fe, ff, &fs)
					if err != nil {
						unreadable = true
					}
					fields = append(fields, fs)
					return err
				})
				err = errors.Join(err, ferr)
			} else if !unreadable {
				unreadable = true
				err = errors.Join(err, fmt.Errorf("%s.fieldSelectors: want an array", field))
			}
			if unreadable {
				records = append(records, func(string) bool { return true })
			} else {
				records = append(records, func(source string) bool { return advancedRecords(fields, source) })
			}
			return err
		}))
	} else if len(bytes.TrimSpace(req.AdvancedEventSelectors)) > 0 && string(bytes.TrimSpace(req.AdvancedEventSelectors)) != "null" {
		errs = append(errs, errors.New("requestParameters.advancedEventSelectors: want an array"))
	}
	if !given {
		return nil, errors.Join(errs...)
	}
	var lost []string
	for _, svc := range Watched {
		if !slices.ContainsFunc(records, func(r func(string) bool) bool { return r(svc.EventSource) }) {
			lost = append(lost, svc.EventSource)
		}
	}
	return lost, errors.Join(errs...)
}

// records reports whether a basic event selector records the write
// management events of source. IncludeManagementEvents and ReadWriteType
// default to true and All.
func (s eventSelector) records(source string) bool {
	if isFalse(s.IncludeManagementEvents) || strings.EqualFold(string(s.ReadWriteType), "ReadOnly") {
		return false
	}
	return !slices.ContainsFunc(s.ExcludeManagementEventSources, func(t text) bool { return strings.EqualFold(string(t), source) })
}

// advancedRecords reports whether an advanced selector, whose field
// selectors are ANDed, records a write management event of source.
// Fields other than eventCategory, readOnly and eventSource are not
// allowed in management selectors; they are taken to match.
func advancedRecords(fields []fieldSelector, source string) bool {
	category := false
	for _, f := range fields {
		var v string
		switch strings.ToLower(string(f.Field)) {
		case "eventcategory":
			v, category = "Management", true
		case "readonly":
			v = "false"
		case "eventsource":
			v = source
		default:
			continue
		}
		if !f.matches(v) {
			return false
		}
	}
	// A selector without an eventCategory is not one AWS accepts.
	return category
}

// matches applies one field selector's operators, ANDed, to a value.
// AWS compares case-sensitively; case is ignored here so that a
// differently spelled record is not misread as a narrowing.
func (f fieldSelector) matches(v string) bool {
	anyOf := func(list []text, ok func(string, string) bool) bool {
		return slices.ContainsFunc(list, func(t text) bool { return ok(strings.ToLower(v), strings.ToLower(string(t))) })
	}
	eq := func(a, b string) bool { return a == b }
	switch {
	case len(f.Equals) > 0 && !anyOf(f.Equals, eq),
		anyOf(f.NotEquals, eq),
		len(f.StartsWith) > 0 && !anyOf(f.StartsWith, strings.HasPrefix),
		anyOf(f.NotStartsWith, strings.HasPrefix),
		len(f.EndsWith) > 0 && !anyOf(f.EndsWith, strings.HasSuffix),
		anyOf(f.NotEndsWith, strings.HasSuffix):
		return false
	}
	return true
}

// listOf returns a JSON array's raw text; ok is false for anything else,
// absent and null included.
func listOf(raw json.RawMessage) (json.RawMessage, bool) {
	raw = bytes.TrimSpace(raw)
	return raw, len(raw) > 0 && raw[0] == '['
}

func isObject(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && raw[0] == '{'
}

// eachElement calls fn with each element of a JSON array and its place
// (field[i]); their errors are joined.
func eachElement(raw json.RawMessage, field string, fn func(field string, elem json.RawMessage) error) error {
	var elems []json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil {
		return fmt.Errorf("%s: %w", field, err)
	}
	var errs []error
	for i, el := range elems {
		errs = append(errs, fn(fmt.Sprintf("%s[%d]", field, i), el))
	}
	return errors.Join(errs...)
}

// isFalse reads a boolean field that CloudTrail may write as a string.
func isFalse(t text) bool { return strings.EqualFold(strings.TrimSpace(string(t)), "false") }

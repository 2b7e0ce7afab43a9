// Package athena holds the query that hunts through an organization's
// CloudTrail archive with Amazon Athena: it selects the records some rule
// reads and UNLOADs them as JSON to S3, where `lambdawatch scan` judges
// them.
package athena

import (
	_ "embed"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Query is hunt.sql: an UNLOAD of the records lambdawatch's rules read,
// from the CloudTrail table of the Athena User Guide, with placeholders
// for the table, the output location and the time range (see Fill).
//
//go:embed hunt.sql
var Query string

// The placeholders in Query. They are not SQL, so that a query run with
// one left in fails rather than reading the wrong data.
const (
	TablePlaceholder  = "{{TABLE}}"
	OutputPlaceholder = "{{OUTPUT}}"
	FromPlaceholder   = "{{FROM}}"
	ToPlaceholder     = "{{TO}}"
)

// Params fill Query's placeholders.
type Params struct {
	// Table is the CloudTrail table, optionally with its database:
	// cloudtrail_logs, security.cloudtrail_logs_pp.
	Table string
	// Output is the S3 prefix UNLOAD writes to; it must be empty.
	Output string
	// From and To bound eventtime: From <= eventtime < To.
	From, To time.Time
}

var (
	tableName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$`)
	s3Prefix  = regexp.MustCompile(`^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/[^']*$`)
)

// Fill returns Query with p's values in place of the placeholders.
// Partition predicates are left to the reader of hunt.sql: they depend on
// how the table is partitioned.
func Fill(p Params) (string, error) {
	if !tableName.MatchString(p.Table) {
		return "", fmt.Errorf("table %q: want a name such as cloudtrail_logs or db.cloudtrail_logs", p.Table)
	}
	if !s3Prefix.MatchString(p.Output) || !strings.HasSuffix(p.Output, "/") {
		return "", fmt.Errorf("output %q: want an S3 prefix such as s3://bucket/prefix/ (ending in /, no quotes)", p.Output)
	}
	if p.From.IsZero() || p.To.IsZero() || !p.From.Before(p.To) {
		return "", fmt.Errorf("time range %v to %v: want a start before the end", p.From, p.To)
	}
	// eventtime is a string as CloudTrail writes it (2026-11-20T10:00:00Z),
	// so that strings in the same form compare as times.
	const layout = "2006-01-02T15:04:05Z"
	return strings.NewReplacer(
		TablePlaceholder, p.Table,
		OutputPlaceholder, p.Output,
		FromPlaceholder, p.From.UTC().Format(layout),
		ToPlaceholder, p.To.UTC().Format(layout),
	).Replace(Query), nil
}

package athena

import (
	"flag"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lambdawatch/lambdawatch/pkg/detect"
)

var update = flag.Bool("update", false, "rewrite hunt.sql and testdata/unload from detect.Watched and events/")

const queryHead = `-- lambdawatch hunt: the CloudTrail records lambdawatch's rules read, unloaded
-- as JSON for ` + "`lambdawatch scan s3://<bucket>/<prefix>/`" + `.
--
-- Generated from detect.Watched by
--   go test ./pkg/athena -run TestQueryUpToDate -update
-- Do not edit by hand: a test fails when this file and detect.Watched differ.
--
-- The table is the one the Amazon Athena User Guide creates in "Querying AWS
-- CloudTrail logs" (create-cloudtrail-table.html: CREATE EXTERNAL TABLE
-- cloudtrail_logs, ROW FORMAT SERDE 'com.amazon.emr.hive.serde.CloudTrailSerde';
-- create-cloudtrail-table-partition-projection.html: cloudtrail_logs_pp), or the
-- one the CloudTrail console's "Create Athena table" makes. The query reads the
-- columns eventsource, eventname and eventtime; SELECT * keeps every column, so
-- that the records judged are whole. UNLOAD and its JSON format follow the User
-- Guide's UNLOAD page: format = 'JSON' writes gzip-compressed JSON Lines.
--
-- Placeholders (athena.Fill fills them):
--   {{TABLE}}   the CloudTrail table, such as cloudtrail_logs
--   {{OUTPUT}}  an empty S3 prefix for the results, such as s3://results-bucket/hunt-2026/
--               (UNLOAD refuses a prefix that already holds objects)
--   {{FROM}}    first eventtime to read, such as 2026-01-01T00:00:00Z
--   {{TO}}      first eventtime not to read, such as 2027-01-01T00:00:00Z
--
-- Cost: Athena bills the bytes it reads. eventtime is a column, not a partition:
-- on its own it narrows the results, not the reading, and every log file the
-- table covers is read. On a partitioned table, add the partition predicate
-- below for the same range, so that Athena reads only those days.
UNLOAD (
  SELECT *
  FROM {{TABLE}}
  WHERE eventtime >= '{{FROM}}'
    AND eventtime < '{{TO}}'
    -- Partition projection table (projection.timestamp.format 'yyyy/MM/dd'):
    --   AND "timestamp" BETWEEN '2026/01/01' AND '2026/12/31'
    -- Manually partitioned table (PARTITIONED BY region, year, month, day):
    --   AND year = '2026'
    -- Lambda's event names carry an API version (AddPermission20150331v2),
    -- hence prefixes; the EventBridge rules that feed the monitor match the
    -- same prefixes.
    AND (
`

const queryTail = `    )
) TO '{{OUTPUT}}'
WITH (format = 'JSON')
`

// render writes the query for services.
func render(services []detect.Service) string {
	var b strings.Builder
	b.WriteString(queryHead)
	for i, s := range services {
		or := "OR "
		if i == 0 {
			or = "   "
		}
		b.WriteString("      " + or + "(eventsource = '" + s.EventSource + "' AND (\n")
		for j, a := range s.Actions {
			if j == 0 {
				b.WriteString("             eventname LIKE '" + a + "%'\n")
			} else {
				b.WriteString("          OR eventname LIKE '" + a + "%'\n")
			}
		}
		b.WriteString("      ))\n")
	}
	b.WriteString(queryTail)
	return b.String()
}

func TestQueryUpToDate(t *testing.T) {
	want := render(detect.Watched)
	if *update {
		if err := os.WriteFile("hunt.sql", []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if Query != want {
		t.Errorf("hunt.sql is not what detect.Watched gives: run go test ./pkg/athena -run TestQueryUpToDate -update")
	}
}

// watchedInSQL reads, from the SQL text itself, which event names each
// event source selects: the sources and name prefixes the query hunts.
func watchedInSQL(sql string) (map[string][]string, error) {
	var code []string
	for line := range strings.Lines(sql) {
		if c, _, _ := strings.Cut(line, "--"); strings.TrimSpace(c) != "" {
			code = append(code, c)
		}
	}
	body := strings.Join(code, "")
	source := regexp.MustCompile(`eventsource\s*=\s*'([^']*)'`)
	name := regexp.MustCompile(`eventname\s+LIKE\s+'([^'%_]*)%'`)
	got := map[string][]string{}
	// Each source's names follow it, up to the next source.
	idx := source.FindAllStringSubmatchIndex(body, -1)
	for i, m := range idx {
		end := len(body)
		if i+1 < len(idx) {
			end = idx[i+1][0]
		}
		src := body[m[2]:m[3]]
		for _, n := range name.FindAllStringSubmatch(body[m[1]:end], -1) {
			got[src] = append(got[src], n[1])
		}
	}
	// Every mention of the two columns must be one of those read above: a
	// hand-written eventname = 'X' or eventsource IN (...) would escape.
	if n, want := strings.Count(body, "eventname"), len(name.FindAllString(body, -1)); n != want {
		return got, fmt.Errorf("eventname appears %d times, %d of them as eventname LIKE 'Prefix%%'", n, want)
	}
	if n, want := strings.Count(body, "eventsource"), len(idx); n != want {
		return got, fmt.Errorf("eventsource appears %d times, %d of them as eventsource = '...'", n, want)
	}
	return got, nil
}

// TestQueryHuntsWatched: the query selects exactly the sources and calls
// of detect.Watched, no more and no fewer.
func TestQueryHuntsWatched(t *testing.T) {
	got, err := watchedInSQL(Query)
	if err != nil {
		t.Error(err)
	}
	want := map[string][]string{}
	for _, s := range detect.Watched {
		want[s.EventSource] = append(want[s.EventSource], s.Actions...)
	}
	for src, actions := range want {
		for _, a := range actions {
			if !slices.Contains(got[src], a) {
				t.Errorf("hunt.sql misses %s %s", src, a)
			}
		}
	}
	for src, names := range got {
		for _, n := range names {
			if !slices.Contains(want[src], n) {
				t.Errorf("hunt.sql hunts %s %s, which detect.Watched does not list", src, n)
			}
		}
	}
	if len(got) == 0 {
		t.Fatal("hunt.sql names no event source")
	}
}

// TestQueryParserCatchesDrift: the check above fails on a query that
// misses a call, adds one, or selects outside the pattern it reads.
func TestQueryParserCatchesDrift(t *testing.T) {
	lambda := detect.Watched[0]
	tests := []struct {
		name   string
		sql    string
		differ bool
	}{
		{"same", render(detect.Watched), false},
		{"missing call", render([]detect.Service{{EventSource: lambda.EventSource, Actions: lambda.Actions[1:]}}), true},
		{"extra call", render([]detect.Service{{EventSource: lambda.EventSource, Actions: append(slices.Clone(lambda.Actions), "Invoke")}}), true},
		{"call under another source", render([]detect.Service{{EventSource: "sqs.amazonaws.com", Actions: lambda.Actions}}), true},
	}
	base, err := watchedInSQL(render(detect.Watched))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := watchedInSQL(tt.sql)
			if err != nil {
				t.Fatal(err)
			}
			same := len(got) == len(base)
			for src, names := range base {
				same = same && slices.Equal(got[src], names)
			}
			if same == tt.differ {
				t.Errorf("differ = %v, want %v", !same, tt.differ)
			}
		})
	}
	// A predicate outside the pattern the check reads is reported.
	for _, stray := range []string{"eventname = 'Invoke' AND (", "eventsource IN ('sts.amazonaws.com') AND ("} {
		sql := strings.Replace(render(detect.Watched), "AND (\n", "AND "+stray+"\n", 1)
		if _, err := watchedInSQL(sql); err == nil {
			t.Errorf("%s: no error", stray)
		}
	}
}

func TestFill(t *testing.T) {
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	to := time.Date(2027, 1, 1, 0, 0, 0, 0, time.FixedZone("CET", 3600))
	tests := []struct {
		name    string
		p       Params
		wantErr string
	}{
		{"good", Params{Table: "security.cloudtrail_logs", Output: "s3://results-bucket/hunt-2026/", From: from, To: to}, ""},
		{"table with a quote", Params{Table: "x'; DROP", Output: "s3://results-bucket/h/", From: from, To: to}, "table"},
		{"output without slash", Params{Table: "t", Output: "s3://results-bucket/h", From: from, To: to}, "output"},
		{"output with a quote", Params{Table: "t", Output: "s3://results-bucket/h'/", From: from, To: to}, "output"},
		{"output not s3", Params{Table: "t", Output: "https://x/", From: from, To: to}, "output"},
		{"range backwards", Params{Table: "t", Output: "s3://results-bucket/h/", From: to, To: from}, "time range"},
		{"no range", Params{Table: "t", Output: "s3://results-bucket/h/"}, "time range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sql, err := Fill(tt.p)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one about %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"FROM security.cloudtrail_logs\n", "eventtime >= '2026-01-01T00:00:00Z'", "eventtime < '2026-12-31T23:00:00Z'", "TO 's3://results-bucket/hunt-2026/'"} {
				if !strings.Contains(sql, want) {
					t.Errorf("filled query lacks %q", want)
				}
			}
			if strings.Contains(sql, "{{") {
				t.Error("a placeholder is left")
			}
		})
	}
}

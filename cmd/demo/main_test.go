package main

import (
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lambdawatch/lambdawatch/pkg/cloudtrail"
)

const rec = `{"eventVersion":"1.09","eventID":"%s","eventTime":"2026-11-04T22:41:07Z","eventSource":"lambda.amazonaws.com","eventName":"AddPermission20150331v2","awsRegion":"eu-west-1","recipientAccountId":"111122223333","requestParameters":{"functionName":"f","principal":"*"}}`

func recWith(id string) string { return strings.Replace(rec, "%s", id, 1) }

func TestReadSamples(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a-eventbridge.json", `{"version":"0","id":"x","detail-type":"AWS API Call via CloudTrail","source":"aws.lambda","account":"111122223333","region":"eu-west-1","detail":`+recWith("e1")+`}`)
	write("b-bare.json", recWith("e2"))
	write("c-lines.jsonl", recWith("e3")+"\n"+recWith("e4")+"\n")
	write("README.md", "# not a record")
	f, err := os.Create(filepath.Join(dir, "d-log.json.gz"))
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(f)
	zw.Write([]byte(`{"Records":[` + recWith("e5") + `,` + strings.Replace(recWith("e6"), "lambda.amazonaws.com", "s3.amazonaws.com", 1) + `]}`))
	zw.Close()
	f.Close()

	samples, skipped, err := readSamples(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(skipped) != 0 {
		t.Errorf("skipped %v", skipped)
	}
	var ids []string
	for _, s := range samples {
		ids = append(ids, s.rec.EventID)
		ev := s.event
		if ev.DetailType != cloudtrail.DetailType || ev.AccountID != "111122223333" || ev.Region != "eu-west-1" || ev.ID == "" {
			t.Errorf("%s: envelope %+v", s.rec.EventID, ev)
		}
		wantSource := "aws.lambda"
		if s.rec.EventID == "e6" {
			wantSource = "aws.s3"
		}
		if ev.Source != wantSource {
			t.Errorf("%s: source %q, want %q", s.rec.EventID, ev.Source, wantSource)
		}
		// The monitor reads the detail back into the same record.
		got, err := cloudtrail.ParseRecord(ev.Detail, cloudtrail.Envelope{Account: ev.AccountID, Region: ev.Region, Source: ev.Source, Time: ev.Time})
		if err != nil {
			t.Fatal(err)
		}
		a, _ := json.Marshal(got)
		b, _ := json.Marshal(s.rec)
		if string(a) != string(b) {
			t.Errorf("detail does not round-trip:\n%s\n%s", a, b)
		}
	}
	if strings.Join(ids, ",") != "e1,e2,e3,e4,e5,e6" {
		t.Errorf("records %v, want e1..e6 in file order", ids)
	}
}

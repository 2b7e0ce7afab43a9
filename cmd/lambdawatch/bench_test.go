package main

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkScanArchive scans a folder laid out as CloudTrail archives it:
// 1,000 gzipped log files of 20 records, one record in 50 a Lambda grant.
// It reports files/s, the figure that decides how long a hunt takes.
func BenchmarkScanArchive(b *testing.B) {
	dir := filepath.Join(b.TempDir(), "AWSLogs", "111122223333", "CloudTrail", "eu-west-1", "2026", "11", "20")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	grant, err := os.ReadFile("../../events/public-invoke-addpermission-star.json")
	if err != nil {
		b.Fatal(err)
	}
	var ev struct {
		Detail json.RawMessage `json:"detail"`
	}
	if err := json.Unmarshal(grant, &ev); err != nil {
		b.Fatal(err)
	}
	const other = `{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/app/i-0abc","accountId":"111122223333"},"eventTime":"2026-11-20T10:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"eu-west-1","sourceIPAddress":"198.51.100.1","userAgent":"aws-sdk-go-v2/1.30.0","requestParameters":{"bucketName":"media","key":"a/b.jpg"},"responseElements":null,"requestID":"R","eventID":"E","readOnly":true,"eventType":"AwsApiCall","managementEvent":false,"recipientAccountId":"111122223333"}`
	const files, perFile = 1000, 20
	for i := range files {
		recs := make([]string, perFile)
		for j := range recs {
			recs[j] = other
			if (i*perFile+j)%50 == 0 {
				recs[j] = string(ev.Detail)
			}
		}
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("111122223333_CloudTrail_eu-west-1_20261120T%04dZ_x.json.gz", i)))
		if err != nil {
			b.Fatal(err)
		}
		zw := gzip.NewWriter(f)
		if _, err := io.WriteString(zw, `{"Records":[`+strings.Join(recs, ",")+`]}`); err != nil {
			b.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			b.Fatal(err)
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		if code := run([]string{"scan", "--format", "json", dir}, nil, io.Discard, io.Discard); code != exitOK {
			b.Fatalf("exit %d", code)
		}
	}
	b.ReportMetric(float64(files*b.N)/b.Elapsed().Seconds(), "files/s")
}

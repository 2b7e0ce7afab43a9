package archive

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// benchKeys lays out 10,000 log files: 2 accounts, 2 regions, 50 days from
// 2026-01-01, 25 files a day.
func benchKeys() []string {
	var keys []string
	for _, acct := range []string{"111122223333", "444455556666"} {
		for _, region := range []string{"eu-west-1", "us-east-1"} {
			for d := range 50 {
				t := day(2026, 1, 1).AddDate(0, 0, d)
				for f := range 25 {
					at := t.Add(time.Duration(f) * 57 * time.Minute)
					keys = append(keys, fmt.Sprintf("AWSLogs/%s/CloudTrail/%s/%s/%s_CloudTrail_%s_%s_R%02d.json.gz",
						acct, region, t.Format("2006/01/02"), acct, region, at.Format("20060102T1504Z"), f))
				}
			}
		}
	}
	return keys
}

// BenchmarkBucketObjects lists and filters a bucket of 10,000 log files in
// gofakes3 over loopback HTTP.
func BenchmarkBucketObjects(b *testing.B) {
	srv := newServer(b)
	keys := benchKeys()
	srv.put(b, "trail", keys)
	for _, bc := range []struct {
		name   string
		filter Filter
		want   int
	}{
		{"all", Filter{}, len(keys)},
		{"since7d", Filter{Since: day(2026, 2, 12)}, 2 * 2 * 8 * 25}, // 2026-02-12 to 02-19
		{"account-region", Filter{Accounts: []string{"444455556666"}, Regions: []string{"us-east-1"}}, len(keys) / 4},
	} {
		b.Run(bc.name, func(b *testing.B) {
			bucket := &Bucket{Client: srv.client(), Name: "trail", Filter: bc.filter}
			b.ReportAllocs()
			srv.listed()
			n := 0
			for b.Loop() {
				objs, errs := collect(context.Background(), bucket)
				if len(errs) > 0 || len(objs) != bc.want {
					b.Fatalf("%d objects, errors %v; want %d", len(objs), errs, bc.want)
				}
				n += len(objs)
			}
			lists := len(srv.listed())
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "keys/s")
			b.ReportMetric(float64(lists)/float64(b.N), "lists/op")
		})
	}
}

// BenchmarkFilterKeep judges keys alone, as a local walk does.
func BenchmarkFilterKeep(b *testing.B) {
	keys := benchKeys()
	f := Filter{Since: day(2026, 2, 12), Accounts: []string{"444455556666"}, Regions: []string{"us-east-1"}}
	kept := 0
	for b.Loop() {
		for _, k := range keys {
			if f.Keep(k) {
				kept++
			}
		}
	}
	if kept == 0 {
		b.Fatal("nothing kept")
	}
	b.ReportMetric(float64(b.N*len(keys))/b.Elapsed().Seconds(), "keys/s")
}

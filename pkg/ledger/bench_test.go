package ledger

import (
	"fmt"
	"testing"
	"time"

	"github.com/lambdawatch/lambdawatch/pkg/detect"
)

// BenchmarkEncode measures what a scope's entries cost to store: the
// gzipped bytes a finding takes (bytes/finding), for findings shaped as
// the audit writes them, on functions named apart.
func BenchmarkEncode(b *testing.B) {
	now := time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)
	for _, n := range []int{100, 5000} {
		entries := make([]Entry, n)
		for i := range entries {
			fn := fmt.Sprintf("orders-service-%05d-handler", i)
			arn := "arn:aws:lambda:eu-west-1:111122223333:function:" + fn
			f := detect.Finding{
				EventTime: now, Rule: detect.RulePublicInvoke, Severity: detect.Critical,
				ResourceARN: arn, ResourceType: detect.TypeFunction, Account: "111122223333", Region: "eu-west-1",
				Function: fn, Principal: "*", Action: "lambda:InvokeFunction", StatementID: fmt.Sprintf("stmt-%d", i),
				Summary: "statement stmt-" + fmt.Sprint(i) + " of function " + fn + " lets anyone invoke it",
			}
			entries[i] = Entry{Fingerprint: Fingerprint(f), FirstSeen: now, LastSeen: now, Alerted: true, Reported: true, Finding: f}
		}
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			var size int
			for b.Loop() {
				stream, err := encode(entries)
				if err != nil {
					b.Fatal(err)
				}
				size = len(stream)
			}
			b.ReportMetric(float64(size)/float64(n), "bytes/finding")
			b.ReportMetric(float64(maxPart)/(float64(size)/float64(n)), "findings/item")
		})
	}
}

package cloudtrailtest_test

import (
	"os"
	"testing"
	"time"

	"github.com/lambdawatch/lambdawatch/pkg/cloudtrail"
	"github.com/lambdawatch/lambdawatch/pkg/cloudtrail/cloudtrailtest"
	"github.com/lambdawatch/lambdawatch/pkg/detect"
)

// TestWrite decodes what Write wrote: every record reads, and the engine
// flags exactly the watched ones.
func TestWrite(t *testing.T) {
	w, err := cloudtrailtest.Write(t.TempDir(), cloudtrailtest.Archive{Files: 30, RecordsPerFile: 40, WatchedEvery: 50, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	if w.Files != 30 || w.Records != 1200 || w.Watched == 0 || w.Stored >= w.Bytes {
		t.Fatalf("wrote %+v", w)
	}
	e := detect.New(detect.Config{Now: func() time.Time { return time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC) }})
	records, flagged := 0, 0
	for _, p := range w.Paths {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		for rec, err := range cloudtrail.Decode(f) {
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			records++
			fs, err := e.Judge(rec)
			if err != nil {
				t.Fatalf("%s: %s: %v", p, rec.Position, err)
			}
			if len(fs) > 0 {
				flagged++
			}
		}
		f.Close()
	}
	if records != w.Records || flagged != w.Watched {
		t.Errorf("decoded %d records, %d flagged; wrote %d, %d watched", records, flagged, w.Records, w.Watched)
	}
}

package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/lambdawatch/lambdawatch/pkg/cloudtrail/cloudtrailtest"
)

// TestArchiveReused: an archive scanbench wrote is measured again as it
// is; one written for other settings, or missing a file, is written anew.
func TestArchiveReused(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "bench")
	a := cloudtrailtest.Archive{Files: 3, RecordsPerFile: 4, Seed: 1}
	w, err := archive(dir, a)
	if err != nil {
		t.Fatal(err)
	}
	// A file the archive does not hold survives a reuse, not a rewrite.
	marker := filepath.Join(dir, "marker")
	if err := os.WriteFile(marker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	again, err := archive(dir, a)
	if err != nil || again.Files != w.Files || again.Stored != w.Stored || again.Watched != w.Watched {
		t.Fatalf("reused: %+v, %v; want %+v", again, err, w)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Fatalf("the archive was written again: %v", err)
	}

	for _, tt := range []struct {
		name   string
		change func()
		a      cloudtrailtest.Archive
	}{
		{"other settings", func() {}, cloudtrailtest.Archive{Files: 4, RecordsPerFile: 4, Seed: 1}},
		{"a file missing", func() { os.Remove(w.Paths[1]) }, a},
		{"a file cut", func() { os.Truncate(w.Paths[0], 10) }, a},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := archive(dir, a); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(marker, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			tt.change()
			got, err := archive(dir, tt.a)
			if err != nil || got.Files != tt.a.Files {
				t.Fatalf("%+v, %v", got, err)
			}
			if _, err := os.Stat(marker); err == nil {
				t.Error("the archive was not written again")
			}
		})
	}
}

// TestInflateAll: every stored file is inflated; a broken one fails the
// measurement.
func TestInflateAll(t *testing.T) {
	w, err := cloudtrailtest.Write(t.TempDir(), cloudtrailtest.Archive{Files: 5, RecordsPerFile: 4, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	stored := make([][]byte, len(w.Paths))
	for i, p := range w.Paths {
		if stored[i], err = os.ReadFile(p); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := inflateAll(stored); err != nil {
		t.Fatal(err)
	}
	stored[3] = stored[3][:len(stored[3])/2]
	if _, _, err := inflateAll(stored); err == nil {
		t.Error("a cut file inflated without an error")
	}
}

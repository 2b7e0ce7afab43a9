package cloudtrail_test

import (
	"bytes"
	stdgzip "compress/gzip"
	"os"
	"sync"
	"testing"

	"github.com/lambdawatch/lambdawatch/pkg/cloudtrail"
	"github.com/lambdawatch/lambdawatch/pkg/cloudtrail/cloudtrailtest"
	"github.com/lambdawatch/lambdawatch/pkg/detect"
	"github.com/lambdawatch/lambdawatch/pkg/prefilter"
)

// benchFiles are log files as a hunt meets them, shaped as CloudTrail
// writes them (cloudtrailtest): 40 records, about 50 KB, gzipped.
type benchFiles struct {
	skipped []byte // gzipped; no watched call: the prefilter drops it
	kept    []byte // gzipped; one watched call among 39 others
	large   []byte // gzipped; 2,000 records, a few watched
	filter  *prefilter.Filter
}

var (
	benchOnce sync.Once
	bench     benchFiles
	benchErr  error
)

func benchInputs(b *testing.B) *benchFiles {
	b.Helper()
	benchOnce.Do(func() {
		dir, err := os.MkdirTemp("", "cloudtrail-bench")
		if err != nil {
			benchErr = err
			return
		}
		defer os.RemoveAll(dir)
		var names []string
		for _, s := range detect.Watched {
			names = append(names, s.Actions...)
		}
		bench.filter = prefilter.New(names)
		w, err := cloudtrailtest.Write(dir, cloudtrailtest.Archive{Files: 60, RecordsPerFile: 40, WatchedEvery: 100, Seed: 5})
		if err != nil {
			benchErr = err
			return
		}
		var ir cloudtrail.InputReader
		for _, p := range w.Paths {
			z, err := os.ReadFile(p)
			if err != nil {
				benchErr = err
				return
			}
			data, err := ir.Read(bytes.NewReader(z))
			if err != nil {
				benchErr = err
				return
			}
			watched := bytes.Count(data, []byte(`"eventSource":"lambda.amazonaws.com","eventName":"A`)) +
				bytes.Count(data, []byte(`"eventName":"CreateFunctionUrlConfig"`))
			switch {
			case bench.skipped == nil && !bench.filter.Match(data):
				bench.skipped = z
			case bench.kept == nil && watched == 1 && bench.filter.Match(data):
				bench.kept = z
			}
		}
		w, err = cloudtrailtest.Write(dir, cloudtrailtest.Archive{Files: 1, RecordsPerFile: 2000, WatchedEvery: 500, Seed: 6})
		if err != nil {
			benchErr = err
			return
		}
		bench.large, benchErr = os.ReadFile(w.Paths[0])
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	if bench.skipped == nil || bench.kept == nil {
		b.Fatal("no file to measure")
	}
	return &bench
}

func gunzip(b *testing.B, z []byte) []byte {
	b.Helper()
	var ir cloudtrail.InputReader
	data, err := ir.Read(bytes.NewReader(z))
	if err != nil {
		b.Fatal(err)
	}
	return bytes.Clone(data)
}

// count decodes all of seq and fails on an error.
func count(b *testing.B, seq func(func(cloudtrail.Record, error) bool)) int {
	n := 0
	for _, err := range seq {
		if err != nil {
			b.Fatal(err)
		}
		n++
	}
	return n
}

// BenchmarkDecodeLogFile decodes one gzipped log file in full, as Decode
// does without a prefilter: inflate and every record decoded.
func BenchmarkDecodeLogFile(b *testing.B) {
	in := benchInputs(b)
	b.SetBytes(int64(len(gunzip(b, in.kept))))
	b.ReportAllocs()
	for b.Loop() {
		if n := count(b, cloudtrail.Decode(bytes.NewReader(in.kept))); n != 40 {
			b.Fatalf("%d records", n)
		}
	}
}

// BenchmarkDecodeBytes decodes a log file already gunzipped: all records
// (keep=none), or, as a hunt does with a file the prefilter keeps, only
// the one record of the 40 that names a watched call (keep=prefilter).
func BenchmarkDecodeBytes(b *testing.B) {
	in := benchInputs(b)
	data := gunzip(b, in.kept)
	for _, tt := range []struct {
		name string
		keep func([]byte) bool
		want int
	}{
		{"keep=none", nil, 40},
		{"keep=prefilter", in.filter.Match, 1},
	} {
		b.Run(tt.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if n := count(b, cloudtrail.DecodeBytes(data, tt.keep)); n != tt.want {
					b.Fatalf("%d records", n)
				}
			}
		})
	}
}

// BenchmarkDecodeStream streams a large log file (2,000 records) through
// the prefilter, as a hunt reads an input too large to hold whole.
func BenchmarkDecodeStream(b *testing.B) {
	in := benchInputs(b)
	data := gunzip(b, in.large)
	want := count(b, cloudtrail.DecodeBytes(data, in.filter.Match))
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if n := count(b, cloudtrail.DecodeStream(bytes.NewReader(data), in.filter.Match)); n != want {
			b.Fatalf("%d records, want %d", n, want)
		}
	}
}

// BenchmarkInflate reads gzipped log files whole with one InputReader, as
// each worker of a hunt does.
func BenchmarkInflate(b *testing.B) {
	in := benchInputs(b)
	b.SetBytes(int64(len(gunzip(b, in.kept))))
	b.ReportAllocs()
	var ir cloudtrail.InputReader
	for b.Loop() {
		if _, err := ir.Read(bytes.NewReader(in.kept)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkInflateCompressGzip reads the same file as BenchmarkInflate
// with the standard library's gunzipper, reused as InputReader reuses
// klauspost/compress's: the measure of what that one saves.
func BenchmarkInflateCompressGzip(b *testing.B) {
	in := benchInputs(b)
	b.SetBytes(int64(len(gunzip(b, in.kept))))
	b.ReportAllocs()
	var (
		zr  *stdgzip.Reader
		rd  bytes.Reader
		buf bytes.Buffer
	)
	for b.Loop() {
		rd.Reset(in.kept)
		var err error
		if zr == nil {
			zr, err = stdgzip.NewReader(&rd)
		} else {
			err = zr.Reset(&rd)
		}
		if err != nil {
			b.Fatal(err)
		}
		buf.Reset()
		if _, err := buf.ReadFrom(zr); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHuntFile is a hunt's work for one file: inflate, the
// prefilter over the file, and, when it passes, the records it keeps.
func BenchmarkHuntFile(b *testing.B) {
	in := benchInputs(b)
	for _, tt := range []struct {
		name string
		z    []byte
	}{{"skipped", in.skipped}, {"kept", in.kept}} {
		b.Run(tt.name, func(b *testing.B) {
			b.SetBytes(int64(len(gunzip(b, tt.z))))
			b.ReportAllocs()
			var ir cloudtrail.InputReader
			for b.Loop() {
				data, rest, err := ir.Open(bytes.NewReader(tt.z), 8<<20)
				if err != nil || rest != nil {
					b.Fatal(err)
				}
				if in.filter.Match(data) {
					count(b, cloudtrail.DecodeBytes(data, in.filter.Match))
				}
			}
		})
	}
}

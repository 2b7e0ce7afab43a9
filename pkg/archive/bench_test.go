package archive

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/crc64"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/logging"

	"github.com/lambdawatch/lambdawatch/pkg/archive/archivetest"
	"github.com/lambdawatch/lambdawatch/pkg/cloudtrail/cloudtrailtest"
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
		{"all", Filter{}, len(keys)}, // flat
		{"all-walked", always, len(keys)},
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

// logFile is a gzipped log file as CloudTrail writes them, about 8 KB.
func logFile(b *testing.B) []byte {
	b.Helper()
	dir := b.TempDir()
	w, err := cloudtrailtest.Write(dir, cloudtrailtest.Archive{Files: 1, RecordsPerFile: 40, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	body, err := os.ReadFile(w.Paths[0])
	if err != nil {
		b.Fatal(err)
	}
	return body
}

// objectServer answers every GET with body, as S3 answers for an object
// it holds a CRC-64/NVME checksum of: the checksum when asked for it.
func objectServer(b *testing.B, body []byte) *httptest.Server {
	sum := base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint64(nil, crc64.Checksum(body, crc64.MakeTable(0x9a6c9329ac4bc9b5))))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Length", strconv.Itoa(len(body)))
		h.Set("Content-Type", "application/x-gzip")
		h.Set("ETag", `"0123456789abcdef0123456789abcdef"`)
		h.Set("Last-Modified", "Thu, 01 Oct 2026 00:05:00 GMT")
		h.Set("x-amz-request-id", "0123456789ABCDEF")
		if r.Header.Get("x-amz-checksum-mode") == "ENABLED" {
			h.Set("x-amz-checksum-crc64nvme", sum)
			h.Set("x-amz-checksum-type", "FULL_OBJECT")
		}
		w.Write(body)
	}))
	b.Cleanup(srv.Close)
	return srv
}

// cpuTime is the CPU this process has used, in user and system mode.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkOpen reads a log file through Bucket.Open, with the client
// NewClient makes and with the SDK's default one, side by side: the
// client's cost for each object, over loopback, the server's cost the
// same in both.
func BenchmarkOpen(b *testing.B) {
	body := logFile(b)
	srv := objectServer(b, body)
	key := "AWSLogs/111122223333/CloudTrail/eu-west-1/2026/10/01/111122223333_CloudTrail_eu-west-1_20261001T0005Z_ABCDEFGHIJKLMNOP.json.gz"
	for _, bc := range []struct {
		name   string
		client func(testing.TB, string, ...func(*config.LoadOptions) error) *s3.Client
	}{
		{"sdk-default", sdkClient},
		{"NewClient", newClient},
	} {
		b.Run(bc.name, func(b *testing.B) {
			bucket := &Bucket{Client: bc.client(b, srv.URL, config.WithLogger(logging.Nop{})), Name: "trail"}
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			cpu0 := cpuTime()
			for b.Loop() {
				r, err := bucket.Open(context.Background(), key)
				if err != nil {
					b.Fatal(err)
				}
				n, err := io.Copy(io.Discard, r)
				r.Close()
				if err != nil || n != int64(len(body)) {
					b.Fatalf("read %d of %d bytes: %v", n, len(body), err)
				}
			}
			// The process's CPU, the server's included: the same for both
			// clients, it leaves their difference as it is.
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// BenchmarkBucketRead reads 1,000 log files in gofakes3 behind a proxy
// that adds 50 ms to every call, as a scan reads them: listed through
// Bucket, Concurrency at a time. Side by side: the SDK's default client
// and NewClient's, a flat listing and a walk folder by folder.
func BenchmarkBucketRead(b *testing.B) {
	srv, err := archivetest.NewServer(archivetest.Options{Delay: 50 * time.Millisecond})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { srv.Close() })
	f, err := srv.Fill("trail", "", cloudtrailtest.Archive{Files: 1000, RecordsPerFile: 40, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	// The first read of a process is the slowest: it is left out.
	warm := &Bucket{Client: newClient(b, srv.URL), Name: "trail"}
	if _, err := archivetest.ReadAll(context.Background(), objectKeys(warm), Concurrency, warm.Open, nil); err != nil {
		b.Fatal(err)
	}
	for _, client := range []string{"sdk-default", "NewClient"} {
		for _, listing := range []struct {
			name   string
			filter Filter
		}{{"flat", Filter{}}, {"walked", always}} {
			b.Run(client+"/"+listing.name, func(b *testing.B) {
				var conns, lists int
				for b.Loop() {
					b.StopTimer()
					srv.Reset()
					c := newClient(b, srv.URL, config.WithLogger(logging.Nop{}))
					if client == "sdk-default" {
						c = sdkClient(b, srv.URL, config.WithLogger(logging.Nop{}))
					}
					bucket := &Bucket{Client: c, Name: "trail", Filter: listing.filter}
					b.StartTimer()
					read, err := archivetest.ReadAll(context.Background(), objectKeys(bucket), Concurrency, bucket.Open, nil)
					if err != nil || read.Objects != len(f.Keys) {
						b.Fatalf("read %d of %d: %v", read.Objects, len(f.Keys), err)
					}
					st := srv.Stats()
					conns += st.Conns
					lists += st.Lists
				}
				b.ReportMetric(float64(b.N*len(f.Keys))/b.Elapsed().Seconds(), "files/s")
				b.ReportMetric(float64(conns)/float64(b.N), "conns/op")
				b.ReportMetric(float64(lists)/float64(b.N), "lists/op")
			})
		}
	}
}

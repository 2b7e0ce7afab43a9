package archivetest

import (
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/lambdawatch/lambdawatch/pkg/cloudtrail/cloudtrailtest"
)

func start(t *testing.T, o Options) *Server {
	t.Helper()
	s, err := NewServer(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// client asks for checksums and validates them, as the SDK's clients do
// by default when made from a loaded configuration.
func client(url string) *s3.Client {
	return s3.New(s3.Options{
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenSupported,
		BaseEndpoint:               aws.String(url),
		UsePathStyle:               true,
		Region:                     "eu-west-1",
		Credentials:                credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
	})
}

func get(ctx context.Context, c *s3.Client, bucket, key string) ([]byte, error) {
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil, err
	}
	defer out.Body.Close()
	return io.ReadAll(out.Body)
}

func TestFillAndChecksums(t *testing.T) {
	s := start(t, Options{})
	f, err := s.Fill("trail", "org/", cloudtrailtest.Archive{Files: 300, RecordsPerFile: 2, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Keys) != 300 || !slices.IsSorted(f.Keys) || !strings.HasPrefix(f.Keys[0], "org/AWSLogs/111122223333/CloudTrail/eu-west-1/2026/10/01/") {
		t.Fatalf("%d keys, first %q", len(f.Keys), f.Keys[0])
	}
	c := client(s.URL)
	ctx := context.Background()
	// The SDK validates the checksum the server gives.
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("trail"), Key: aws.String(f.Keys[1])})
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(out.Body)
	out.Body.Close()
	if err != nil || len(body) == 0 || aws.ToString(out.ChecksumCRC64NVME) != checksum(body) {
		t.Fatalf("%d bytes, checksum %q, %v", len(body), aws.ToString(out.ChecksumCRC64NVME), err)
	}
	// A wrong one fails the read: the SDK does check it.
	s.mu.Lock()
	s.sums["/trail/"+f.Keys[1]] = checksum([]byte("other"))
	s.mu.Unlock()
	if _, err := get(ctx, c, "trail", f.Keys[1]); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Errorf("read with a wrong checksum: %v", err)
	}
}

func TestProxyCounts(t *testing.T) {
	s := start(t, Options{Delay: 5 * time.Millisecond})
	f, err := s.Fill("trail", "", cloudtrailtest.Archive{Files: 40, RecordsPerFile: 1, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	s.Reset()
	c := client(s.URL)
	ctx := context.Background()
	if _, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("trail")}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for _, k := range f.Keys {
		wg.Go(func() {
			if _, err := get(ctx, c, "trail", k); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	st := s.Stats()
	if st.Lists != 1 || st.Gets != 40 || st.Requests != 41 || st.MaxGets < 2 || st.MaxGets > 40 || st.Conns < st.MaxGets || st.MaxOpen < st.MaxGets {
		t.Errorf("stats %+v", st)
	}
	// Reset closes the idle connections: the next request opens one.
	s.Reset()
	if st := s.Stats(); st.Conns != 0 || st.MaxOpen != 0 {
		t.Errorf("after Reset: %+v", st)
	}
	if _, err := get(ctx, c, "trail", f.Keys[0]); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Conns != 1 || st.Gets != 1 {
		t.Errorf("a read after Reset: %+v", st)
	}
}

// With GetsOnly, listings pass at once while reads wait; a read given up
// while it waits never reaches the server behind.
func TestProxyDelaysGetsOnly(t *testing.T) {
	var reached []string
	var mu sync.Mutex
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		reached = append(reached, r.URL.Path)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/xml")
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>trail</Name><KeyCount>0</KeyCount><IsTruncated>false</IsTruncated></ListBucketResult>`)
	})
	p, err := NewProxy(upstream, Options{Delay: time.Hour, GetsOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c := client(p.URL)
	// Bounds the test, were the listing held an hour.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("trail")}); err != nil {
		t.Fatal(err)
	}
	getCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := get(getCtx, c, "trail", "a/key")
		done <- err
	}()
	for range 1000 {
		if p.Stats().Gets == 1 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	stop()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("read: %v, want context.Canceled", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(reached, []string{"/trail"}) {
		t.Errorf("upstream reached by %v, want only the listing", reached)
	}
	if st := p.Stats(); st.Lists != 1 || st.Gets != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestReadAll(t *testing.T) {
	s := start(t, Options{})
	f, err := s.Fill("trail", "", cloudtrailtest.Archive{Files: 30, RecordsPerFile: 1, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	c := client(s.URL)
	listErr := errors.New("listing refused")
	keys := func(yield func(string, error) bool) {
		for i, k := range append(slices.Clone(f.Keys), "missing.json.gz") {
			if i == 10 && !yield("", listErr) {
				return
			}
			if !yield(k, nil) {
				return
			}
		}
	}
	open := func(ctx context.Context, key string) (io.ReadCloser, error) {
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("trail"), Key: aws.String(key)})
		if err != nil {
			return nil, err
		}
		return out.Body, nil
	}
	read, err := ReadAll(context.Background(), keys, 4, open, nil)
	if read.Objects != 30 || read.Bytes != f.Stored {
		t.Errorf("read %+v, want 30 objects of %d bytes", read, f.Stored)
	}
	if !errors.Is(err, listErr) || !strings.Contains(err.Error(), "NoSuchKey") {
		t.Errorf("errors %v, want the listing's and the missing key's", err)
	}
}

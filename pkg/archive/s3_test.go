package archive

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/lambdawatch/lambdawatch/pkg/archive/archivetest"
)

// listing is one ListObjectsV2 request the server saw.
type listing struct {
	prefix    string
	delimited bool
}

// server is gofakes3 behind a handler that records listings and can fail
// or hold some of them.
type server struct {
	*httptest.Server
	backend  *s3mem.Backend
	mu       sync.Mutex
	lists    []listing
	deny     string        // listings of this prefix are refused
	denyMore bool          // listings past their first page are refused
	modes    []string      // x-amz-checksum-mode of each object read
	hold     string        // listings of this prefix wait for the client to give up
	held     chan struct{} // closed when a held listing arrives
	release  chan struct{} // closed when the test ends, so nothing hangs
	once     sync.Once
}

func newServer(t testing.TB) *server {
	t.Helper()
	s := &server{backend: s3mem.New(), held: make(chan struct{}), release: make(chan struct{})}
	fake := gofakes3.New(s.backend).Server()
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if r.Method == http.MethodGet && q.Get("list-type") == "2" {
			prefix := q.Get("prefix")
			s.mu.Lock()
			s.lists = append(s.lists, listing{prefix: prefix, delimited: q.Get("delimiter") == "/"})
			s.mu.Unlock()
			if s.deny != "" && prefix == s.deny || s.denyMore && q.Get("continuation-token") != "" {
				w.Header().Set("Content-Type", "application/xml")
				w.WriteHeader(http.StatusForbidden)
				fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`)
				return
			}
			if s.hold != "" && prefix == s.hold {
				s.once.Do(func() { close(s.held) })
				select {
				case <-r.Context().Done():
				case <-s.release:
				}
				return
			}
		}
		if r.Method == http.MethodGet && q.Get("list-type") == "" {
			s.mu.Lock()
			s.modes = append(s.modes, r.Header.Get("x-amz-checksum-mode"))
			s.mu.Unlock()
		}
		fake.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	t.Cleanup(func() { close(s.release) })
	return s
}

func (s *server) put(t testing.TB, bucket string, keys []string) {
	t.Helper()
	if err := s.backend.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if _, err := s.backend.PutObject(bucket, k, map[string]string{}, strings.NewReader(k), int64(len(k)), nil); err != nil {
			t.Fatal(err)
		}
	}
}

func (s *server) listed() []listing {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Clone(s.lists)
	s.lists = nil
	slices.SortFunc(out, func(a, b listing) int { return strings.Compare(a.prefix, b.prefix) })
	return out
}

func (s *server) client() *s3.Client { return clientAt(s.URL) }

func fixture(t testing.TB) []string {
	t.Helper()
	f, err := os.Open("testdata/bucket.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var keys []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			keys = append(keys, l)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return keys
}

// resolve turns tags into fixture keys: a log file's random part (A1), or
// a whole key.
func resolve(t *testing.T, keys []string, tags []string) []string {
	t.Helper()
	out := []string{}
	for _, tag := range tags {
		found := ""
		for _, k := range keys {
			if k == tag || strings.HasSuffix(k, "_"+tag+".json.gz") {
				found = k
			}
		}
		if found == "" {
			t.Fatalf("no fixture key for %q", tag)
		}
		out = append(out, found)
	}
	return out
}

// collect runs a walk to the end.
func collect(ctx context.Context, b *Bucket) (objs []Object, errs []error) {
	for o, err := range b.Objects(ctx) {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		objs = append(objs, o)
	}
	return objs, errs
}

func keysOf(objs []Object) []string {
	out := []string{}
	for _, o := range objs {
		out = append(out, o.Key)
	}
	return out
}

// always is a bound that keeps every log file: it makes Objects walk
// folder by folder, as any bound does.
var always = Filter{Since: day(2000, 1, 1)}

func TestBucketObjects(t *testing.T) {
	srv := newServer(t)
	keys := fixture(t)
	srv.put(t, "trail", keys)
	jan2 := Filter{Since: day(2026, 1, 2), Until: day(2026, 1, 3).Add(-time.Nanosecond)}
	const acct = "AWSLogs/111122223333/"
	const ireland = acct + "CloudTrail/eu-west-1/"
	tests := []struct {
		name       string
		prefix     string
		filter     Filter
		want       []string // tags, in order
		unfiltered []string // tags of the objects outside the layout
		lists      []string // every prefix listed, sorted; "*" before one listed whole
	}{
		{
			name: "everything",
			want: []string{"A1", "A2", "A3", "A4", "A5", "A6", "A7", "B1", "C1", "athena-results/exports/lambda-calls.json", "loose.json", "D2", "D1"},
		},
		{
			name:       "one day, one account, one region",
			filter:     Filter{Since: jan2.Since, Until: jan2.Until, Accounts: []string{"111122223333"}, Regions: []string{"eu-west-1"}},
			want:       []string{"A5", "A6", "athena-results/exports/lambda-calls.json", "loose.json"},
			unfiltered: []string{"athena-results/exports/lambda-calls.json", "loose.json"},
			lists: []string{"", "AWSLogs/", acct, acct + "CloudTrail/", ireland, ireland + "2026/", ireland + "2026/01/",
				"*" + ireland + "2026/01/01/", "*" + ireland + "2026/01/02/", "*" + ireland + "2026/01/03/",
				"athena-results/", "athena-results/Unsaved/", "athena-results/Unsaved/2026/", "*athena-results/Unsaved/2026/01/", "athena-results/exports/",
				"org/", "org/AWSLogs/", "org/AWSLogs/o-a1b2c3d4e5/"},
		},
		{
			name:   "organization trail under a prefix",
			prefix: "org/",
			filter: Filter{Since: day(2026, 1, 1)},
			want:   []string{"D1"},
			// 2025/12/ may hold calls of 2026-01-01 delivered late; its
			// day 25 may not.
			lists: []string{"org/", "org/AWSLogs/", "org/AWSLogs/o-a1b2c3d4e5/", "org/AWSLogs/o-a1b2c3d4e5/444455556666/",
				"org/AWSLogs/o-a1b2c3d4e5/444455556666/CloudTrail/", "org/AWSLogs/o-a1b2c3d4e5/444455556666/CloudTrail/ap-southeast-2/",
				"org/AWSLogs/o-a1b2c3d4e5/444455556666/CloudTrail/ap-southeast-2/2025/", "org/AWSLogs/o-a1b2c3d4e5/444455556666/CloudTrail/ap-southeast-2/2025/12/",
				"org/AWSLogs/o-a1b2c3d4e5/444455556666/CloudTrail/ap-southeast-2/2026/", "org/AWSLogs/o-a1b2c3d4e5/444455556666/CloudTrail/ap-southeast-2/2026/01/",
				"*org/AWSLogs/o-a1b2c3d4e5/444455556666/CloudTrail/ap-southeast-2/2026/01/02/"},
		},
		{
			name:   "a prefix that ends inside a folder name",
			prefix: "AWSLogs/2222",
			want:   []string{"C1"},
		},
		{
			name:   "a prefix in the layout, pruned before any listing",
			prefix: acct,
			filter: Filter{Accounts: []string{"222233334444"}},
			want:   []string{},
			lists:  []string{},
		},
		{
			name:       "Athena results, with a bound",
			prefix:     "athena-results/",
			filter:     Filter{Regions: []string{"eu-west-1"}},
			want:       []string{"athena-results/exports/lambda-calls.json"},
			unfiltered: []string{"athena-results/exports/lambda-calls.json"},
		},
		{
			name:   "a day folder as the prefix",
			prefix: ireland + "2026/01/03/",
			want:   []string{"A6", "A7"},
			lists:  []string{"*" + ireland + "2026/01/03/"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.listed()
			for _, parallel := range []int{1, 3, 16} {
				b := &Bucket{Client: srv.client(), Name: "trail", Prefix: tt.prefix, Filter: tt.filter, Parallel: parallel}
				objs, errs := collect(context.Background(), b)
				if len(errs) > 0 {
					t.Fatalf("errors: %v", errs)
				}
				if got, want := keysOf(objs), resolve(t, keys, tt.want); !slices.Equal(got, want) {
					t.Errorf("parallel %d: got\n%s\nwant\n%s", parallel, strings.Join(got, "\n"), strings.Join(want, "\n"))
				}
				unf := resolve(t, keys, tt.unfiltered)
				for _, o := range objs {
					if o.Size != int64(len(o.Key)) {
						t.Errorf("%s: size %d, want %d", o.Key, o.Size, len(o.Key))
					}
					if o.Unfiltered != slices.Contains(unf, o.Key) {
						t.Errorf("%s: Unfiltered %v", o.Key, o.Unfiltered)
					}
				}
				listed := srv.listed()
				if tt.lists == nil {
					continue
				}
				got := []string{}
				for _, l := range listed {
					if l.delimited {
						got = append(got, l.prefix)
					} else {
						got = append(got, "*"+l.prefix)
					}
				}
				want := slices.Clone(tt.lists)
				slices.SortFunc(want, func(a, b string) int { return strings.Compare(strings.TrimPrefix(a, "*"), strings.TrimPrefix(b, "*")) })
				if !slices.Equal(got, want) {
					t.Errorf("parallel %d: listed\n%s\nwant\n%s", parallel, strings.Join(got, "\n"), strings.Join(want, "\n"))
				}
			}
		})
	}
}

// A week back over years of days lists only that week's day folders.
func TestBucketSinceWeekPrunes(t *testing.T) {
	srv := newServer(t)
	const region = "AWSLogs/111122223333/CloudTrail/eu-west-1/"
	var keys []string
	for d := day(2024, 1, 1); !d.After(day(2026, 3, 10)); d = d.AddDate(0, 0, 1) {
		for _, hm := range []string{"0005", "1200"} {
			keys = append(keys, fmt.Sprintf("%s%s/111122223333_CloudTrail_eu-west-1_%sT%sZ_R.json.gz", region, d.Format("2006/01/02"), d.Format("20060102"), hm))
		}
	}
	srv.put(t, "trail", keys)
	since, err := ParseTime("7d", time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	b := &Bucket{Client: srv.client(), Name: "trail", Filter: Filter{Since: since}, Parallel: 8}
	objs, errs := collect(context.Background(), b)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	// 2026-03-03 12:00 onward: that day's noon file, and both files of
	// each day after it.
	var want []string
	for _, k := range keys {
		if k >= region+"2026/03/03/111122223333_CloudTrail_eu-west-1_20260303T1200Z" {
			want = append(want, k)
		}
	}
	if got := keysOf(objs); !slices.Equal(got, want) {
		t.Errorf("got %d keys\n%s\nwant %d\n%s", len(got), strings.Join(got, "\n"), len(want), strings.Join(want, "\n"))
	}
	var days []string
	for _, l := range srv.listed() {
		if strings.Count(l.prefix, "/") == 7 {
			days = append(days, strings.TrimPrefix(l.prefix, region))
		}
	}
	wantDays := []string{"2026/03/03/", "2026/03/04/", "2026/03/05/", "2026/03/06/", "2026/03/07/", "2026/03/08/", "2026/03/09/", "2026/03/10/"}
	if !slices.Equal(days, wantDays) {
		t.Errorf("listed day folders %v, want %v", days, wantDays)
	}
}

func TestBucketErrors(t *testing.T) {
	srv := newServer(t)
	keys := fixture(t)
	srv.put(t, "trail", keys)
	many := manyKeys(2500)
	srv.put(t, "many", many)

	t.Run("missing bucket", func(t *testing.T) {
		objs, errs := collect(context.Background(), &Bucket{Client: srv.client(), Name: "nope", Prefix: "AWSLogs/"})
		if len(objs) != 0 || len(errs) != 1 || !strings.Contains(errs[0].Error(), "list s3://nope/AWSLogs/: ") || !strings.Contains(errs[0].Error(), "NoSuchBucket") {
			t.Errorf("objects %v, errors %v; want one NoSuchBucket error naming s3://nope/AWSLogs/", objs, errs)
		}
	})

	t.Run("a folder refused, the others listed", func(t *testing.T) {
		srv.deny = "AWSLogs/111122223333/CloudTrail/eu-west-1/"
		defer func() { srv.deny = "" }()
		objs, errs := collect(context.Background(), &Bucket{Client: srv.client(), Name: "trail", Prefix: "AWSLogs/", Filter: always})
		if len(errs) != 1 || !strings.Contains(errs[0].Error(), "list s3://trail/AWSLogs/111122223333/CloudTrail/eu-west-1/: ") || !strings.Contains(errs[0].Error(), "AccessDenied") {
			t.Errorf("errors %v; want one AccessDenied naming the folder", errs)
		}
		if got, want := keysOf(objs), resolve(t, keys, []string{"B1", "C1"}); !slices.Equal(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
	})

	t.Run("a later page refused in a flat listing", func(t *testing.T) {
		srv.denyMore = true
		defer func() { srv.denyMore = false }()
		b := &Bucket{Client: srv.client(), Name: "many"}
		objs, errs := collect(context.Background(), b)
		if len(errs) != 1 || !strings.Contains(errs[0].Error(), "list s3://many/: ") || !strings.Contains(errs[0].Error(), "AccessDenied") {
			t.Errorf("errors %v; want one AccessDenied naming s3://many/", errs)
		}
		if got, want := keysOf(objs), many[:pageKeys]; !slices.Equal(got, want) {
			t.Errorf("got %d keys, want the first page's %d", len(got), len(want))
		}
	})

	t.Run("open", func(t *testing.T) {
		b := &Bucket{Client: srv.client(), Name: "trail"}
		r, err := b.Open(context.Background(), "loose.json")
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(r)
		r.Close()
		if err != nil || string(body) != "loose.json" {
			t.Errorf("body %q, %v", body, err)
		}
		_, err = b.Open(context.Background(), "gone.json")
		if err == nil || !strings.Contains(err.Error(), "get s3://trail/gone.json: ") || !strings.Contains(err.Error(), "NoSuchKey") {
			t.Errorf("Open(gone.json) error %v", err)
		}
	})
}

// listers counts the listing goroutines still running.
func listers() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Count(string(buf), "archive.(*Bucket).list(")
}

// waitListers waits, a bounded number of times, for listing goroutines to
// end.
func waitListers(t *testing.T) {
	t.Helper()
	for range 500 {
		if listers() == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("%d listing goroutines left running", listers())
}

func TestBucketStops(t *testing.T) {
	srv := newServer(t)
	keys := fixture(t)
	srv.put(t, "trail", keys)
	// Listing us-east-1 hangs until the client gives up: a reader that
	// stops, or a cancelled context, must end it.
	srv.hold = "AWSLogs/111122223333/CloudTrail/us-east-1/"

	t.Run("the reader stops", func(t *testing.T) {
		b := &Bucket{Client: srv.client(), Name: "trail", Filter: always, Parallel: 4}
		var got []string
		for o, err := range b.Objects(context.Background()) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, o.Key)
			break
		}
		if want := resolve(t, keys, []string{"A1"}); !slices.Equal(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
		waitListers(t)
	})

	t.Run("the context is cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		b := &Bucket{Client: srv.client(), Name: "trail", Filter: always, Parallel: 4}
		var (
			got  []string
			errs []error
		)
		for o, err := range b.Objects(ctx) {
			if err != nil {
				errs = append(errs, err)
				continue
			}
			got = append(got, o.Key)
			if o.Key == resolve(t, keys, []string{"A7"})[0] {
				// The next folder hangs: cancel while it does.
				select {
				case <-srv.held:
				case <-time.After(10 * time.Second):
					t.Fatal("the held folder was never listed")
				}
				cancel()
			}
		}
		if want := resolve(t, keys, []string{"A1", "A2", "A3", "A4", "A5", "A6", "A7"}); !slices.Equal(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
		if len(errs) != 1 || !errors.Is(errs[0], context.Canceled) || !strings.Contains(errs[0].Error(), "s3://trail/") {
			t.Errorf("errors %v, want one context.Canceled", errs)
		}
		waitListers(t)
	})

	t.Run("cancelled before it starts", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		objs, errs := collect(ctx, &Bucket{Client: srv.client(), Name: "trail"})
		if len(objs) != 0 || len(errs) != 1 || !errors.Is(errs[0], context.Canceled) {
			t.Errorf("objects %v, errors %v", objs, errs)
		}
		waitListers(t)
	})
}

// A client built as the CLI builds it reaches the server named by
// AWS_ENDPOINT_URL_S3.
func TestNewClientEndpointFromEnvironment(t *testing.T) {
	srv := newServer(t)
	srv.put(t, "trail", fixture(t))
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_S3":         srv.URL,
		"AWS_ENDPOINT_URL":            "",
		"AWS_ACCESS_KEY_ID":           "AKIDEXAMPLE",
		"AWS_SECRET_ACCESS_KEY":       "secret",
		"AWS_SESSION_TOKEN":           "",
		"AWS_REGION":                  "eu-west-1",
		"AWS_PROFILE":                 "",
		"AWS_CONFIG_FILE":             dir + "/config",
		"AWS_SHARED_CREDENTIALS_FILE": dir + "/credentials",
		"AWS_EC2_METADATA_DISABLED":   "true",
	} {
		t.Setenv(k, v)
	}
	os.Unsetenv("AWS_ENDPOINT_URL") // set-but-empty would hide the S3 one
	client, err := NewClient(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	bucket, prefix, err := ParseURL("s3://trail/org/")
	if err != nil {
		t.Fatal(err)
	}
	objs, errs := collect(context.Background(), &Bucket{Client: client, Name: bucket, Prefix: prefix})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if got := keysOf(objs); len(got) != 2 || !strings.HasSuffix(got[0], "_D2.json.gz") || !strings.HasSuffix(got[1], "_D1.json.gz") {
		t.Errorf("got %v", got)
	}
	if len(srv.listed()) == 0 {
		t.Error("the server saw no listing")
	}
}

func TestParseURL(t *testing.T) {
	tests := []struct {
		in, bucket, prefix, err string
	}{
		{in: "s3://trail", bucket: "trail"},
		{in: "s3://trail/", bucket: "trail"},
		{in: "s3://trail/some/prefix/", bucket: "trail", prefix: "some/prefix/"},
		{in: "s3://trail/AWSLogs/1111", bucket: "trail", prefix: "AWSLogs/1111"},
		{in: "trail/prefix", err: `"trail/prefix": want s3://BUCKET[/PREFIX]`},
		{in: "S3://trail", err: "want s3://"},
		{in: "s3://", err: "with a bucket name"},
		{in: "s3:///prefix", err: "with a bucket name"},
	}
	for _, tt := range tests {
		bucket, prefix, err := ParseURL(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseURL(%q) error %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || bucket != tt.bucket || prefix != tt.prefix {
			t.Errorf("ParseURL(%q) = %q, %q, %v", tt.in, bucket, prefix, err)
		}
	}
}

// manyKeys lays out n log files in key order: two accounts, two regions
// each, a file every five minutes from 2026-01-01.
func manyKeys(n int) []string {
	var keys []string
	for i := range n {
		acct := []string{"111122223333", "444455556666"}[i%2]
		region := []string{"eu-west-1", "us-east-1"}[i/2%2]
		t := day(2026, 1, 1).Add(time.Duration(i/4) * 5 * time.Minute)
		keys = append(keys, fmt.Sprintf("AWSLogs/%s/CloudTrail/%s/%s/%s_CloudTrail_%s_%s_R%05d.json.gz",
			acct, region, t.Format("2006/01/02"), acct, region, t.Format("20060102T1504Z"), i))
	}
	slices.Sort(keys)
	return keys
}

// kept is what a walk should yield of keys: those f keeps, in key order.
func kept(keys []string, prefix string, f Filter) []string {
	out := []string{}
	for _, k := range keys {
		if strings.HasPrefix(k, prefix) && f.Keep(k) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// With no bound, a bucket is listed whole, a page at a time, and yields
// the keys a walk folder by folder yields, in the same order.
func TestBucketFlatMatchesWalk(t *testing.T) {
	srv := newServer(t)
	keys := append(fixture(t), manyKeys(2500)...)
	// Folders a walk skips and a flat listing reads through.
	keys = append(keys,
		"AWSLogs/444455556666/CloudTrail-Digest/eu-west-1/2026/01/01/444455556666_CloudTrail-Digest_eu-west-1_t_us-east-1_20260101T0000Z.json.gz",
		"AWSLogs/444455556666/elasticloadbalancing/eu-west-1/2026/01/01/444455556666_elasticloadbalancing_eu-west-1_app.x.log.gz",
		"AWSLogs/444455556666/Config/eu-west-1/2026/1/1/ConfigHistory/x.json.gz")
	srv.put(t, "trail", keys)
	for _, prefix := range []string{"", "AWSLogs/", "AWSLogs/4444", "org/"} {
		t.Run("prefix "+prefix, func(t *testing.T) {
			want := kept(keys, prefix, Filter{})
			flat, errs := collect(context.Background(), &Bucket{Client: srv.client(), Name: "trail", Prefix: prefix})
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			flatLists := srv.listed()
			walked, errs := collect(context.Background(), &Bucket{Client: srv.client(), Name: "trail", Prefix: prefix, Filter: always})
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			walkLists := srv.listed()
			if got := keysOf(flat); !slices.Equal(got, want) {
				t.Errorf("flat: %d keys, want %d", len(got), len(want))
			}
			if got := keysOf(walked); !slices.Equal(got, want) {
				t.Errorf("walked: %d keys, want %d", len(got), len(want))
			}
			// One listing without a delimiter, a request for each
			// thousand keys below the prefix.
			below := 0
			for _, k := range keys {
				if strings.HasPrefix(k, prefix) {
					below++
				}
			}
			if len(flatLists) != below/pageKeys+1 {
				t.Errorf("flat: %d requests for %d keys", len(flatLists), below)
			}
			for _, l := range flatLists {
				if l.delimited || l.prefix != prefix {
					t.Errorf("flat: listed %+v", l)
				}
			}
			for _, l := range walkLists {
				if strings.Contains(l.prefix, "CloudTrail-Digest") || strings.Contains(l.prefix, "elasticloadbalancing") || strings.Contains(l.prefix, "Config/") {
					t.Errorf("walked into %s", l.prefix)
				}
			}
		})
	}
}

// proxied puts a latency proxy in front of srv, so that listings overlap.
func proxied(t *testing.T, srv *server, delay time.Duration) *archivetest.Proxy {
	t.Helper()
	p, err := archivetest.NewProxy(srv.Config.Handler, archivetest.Options{Delay: delay})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Error(err)
		}
	})
	return p
}

func clientAt(url string) *s3.Client {
	return s3.New(s3.Options{
		BaseEndpoint: aws.String(url),
		UsePathStyle: true,
		Region:       "eu-west-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
	})
}

// A bounded walk lists several folders at once, never more than Parallel,
// lists only folders the filter allows, and yields what the filter keeps
// in key order.
func TestBucketPrunedConcurrently(t *testing.T) {
	srv := newServer(t)
	keys := manyKeys(4000)
	srv.put(t, "trail", keys)
	p := proxied(t, srv, 10*time.Millisecond)
	for _, tt := range []struct {
		name   string
		filter Filter
	}{
		{"since", Filter{Since: day(2026, 1, 3)}},
		{"account and window", Filter{Accounts: []string{"444455556666"}, Since: day(2026, 1, 2), Until: day(2026, 1, 2).Add(6 * time.Hour)}},
		{"region", Filter{Regions: []string{"us-east-1"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, parallel := range []int{3, 8} {
				p.Reset()
				srv.listed()
				b := &Bucket{Client: clientAt(p.URL), Name: "trail", Filter: tt.filter, Parallel: parallel}
				objs, errs := collect(context.Background(), b)
				if len(errs) > 0 {
					t.Fatal(errs)
				}
				want := kept(keys, "", tt.filter)
				if len(want) == 0 || len(want) == len(keys) {
					t.Fatalf("the filter keeps %d of %d keys: the test proves little", len(want), len(keys))
				}
				if got := keysOf(objs); !slices.Equal(got, want) {
					t.Errorf("parallel %d: %d keys, want %d", parallel, len(got), len(want))
				}
				for _, l := range srv.listed() {
					if !tt.filter.Descend(l.prefix) {
						t.Errorf("parallel %d: listed %s, which the filter rules out", parallel, l.prefix)
					}
				}
				if s := p.Stats(); s.MaxLists < 2 || s.MaxLists > parallel {
					t.Errorf("parallel %d: up to %d listings at once", parallel, s.MaxLists)
				}
			}
		})
	}
}

// The walk lists ahead, folders within folders, while the consumer is
// busy with the first object.
func TestBucketListsAhead(t *testing.T) {
	srv := newServer(t)
	keys := fixture(t)
	srv.put(t, "trail", keys)
	deep := []string{
		"AWSLogs/111122223333/CloudTrail/us-east-1/2026/01/02/",
		"AWSLogs/222233334444/CloudTrail/eu-west-1/2026/01/02/",
	}
	b := &Bucket{Client: srv.client(), Name: "trail", Filter: always}
	var listed []string
	for o, err := range b.Objects(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		if want := resolve(t, keys, []string{"A1"})[0]; o.Key != want {
			t.Fatalf("first %s, want %s", o.Key, want)
		}
		for range 500 {
			for _, l := range srv.listed() {
				listed = append(listed, l.prefix)
			}
			if !slices.ContainsFunc(deep, func(p string) bool { return !slices.Contains(listed, p) }) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		break
	}
	for _, p := range deep {
		if !slices.Contains(listed, p) {
			t.Errorf("%s not listed while the consumer held the first object; listed %v", p, listed)
		}
	}
	waitListers(t)
}

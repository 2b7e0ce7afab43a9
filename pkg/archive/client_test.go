package archive

import (
	"bytes"
	"context"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/logging"

	"github.com/lambdawatch/lambdawatch/pkg/archive/archivetest"
)

// loadOptions point a client at url, with no part for the machine's own
// AWS settings.
func loadOptions(url string, more ...func(*config.LoadOptions) error) []func(*config.LoadOptions) error {
	return append([]func(*config.LoadOptions) error{
		config.WithBaseEndpoint(url),
		config.WithRegion("eu-west-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")),
		config.WithSharedConfigFiles([]string{}),
		config.WithSharedCredentialsFiles([]string{}),
		config.WithEC2IMDSClientEnableState(imds.ClientDisabled),
	}, more...)
}

func newClient(t testing.TB, url string, more ...func(*config.LoadOptions) error) *s3.Client {
	t.Helper()
	c, err := NewClient(context.Background(), loadOptions(url, more...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// sdkClient is the client the SDK makes by default, as NewClient made it
// before it was shaped for scans.
func sdkClient(t testing.TB, url string, more ...func(*config.LoadOptions) error) *s3.Client {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background(), loadOptions(url, more...)...)
	if err != nil {
		t.Fatal(err)
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
}

// readRounds reads keys in rounds of len(keys) at once, each round after
// the last one ended, as a scan's workers each read one object after
// another.
func readRounds(t *testing.T, b *Bucket, keys []string, rounds int) {
	t.Helper()
	for range rounds {
		var wg sync.WaitGroup
		errs := make([]error, len(keys))
		for i, k := range keys {
			wg.Go(func() {
				r, err := b.Open(context.Background(), k)
				if err == nil {
					_, err = io.Copy(io.Discard, r)
					r.Close()
				}
				errs[i] = err
			})
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
}

// The client keeps a connection for every request in flight: reading
// object after object, Concurrency at a time, opens Concurrency
// connections, where the SDK's default pool of 10 opens dozens more each
// round.
func TestNewClientReusesConnections(t *testing.T) {
	srv := newServer(t)
	keys := manyKeys(1000)
	srv.put(t, "trail", keys)
	p := proxied(t, srv, 20*time.Millisecond)

	t.Run("rounds of reads", func(t *testing.T) {
		const rounds = 3
		p.Reset()
		readRounds(t, &Bucket{Client: sdkClient(t, p.URL), Name: "trail"}, keys[:Concurrency], rounds)
		if n := p.Stats().Conns; n <= idleConns {
			t.Errorf("the SDK's default client opened %d connections for %d rounds of %d reads: the count proves nothing", n, rounds, Concurrency)
		}
		p.Reset()
		readRounds(t, &Bucket{Client: newClient(t, p.URL), Name: "trail"}, keys[:Concurrency], rounds)
		if s := p.Stats(); s.Conns > Concurrency || s.Gets != rounds*Concurrency {
			t.Errorf("%d connections for %d reads, %d at a time; want at most %d", s.Conns, s.Gets, Concurrency, Concurrency)
		}
	})

	t.Run("a scan", func(t *testing.T) {
		p.Reset()
		b := &Bucket{Client: newClient(t, p.URL), Name: "trail"}
		read, err := archivetest.ReadAll(context.Background(), objectKeys(b), Concurrency, b.Open, nil)
		if err != nil || read.Objects != len(keys) {
			t.Fatalf("read %d of %d objects: %v", read.Objects, len(keys), err)
		}
		if s := p.Stats(); s.Conns > Concurrency+DefaultParallel {
			t.Errorf("%d connections for %d listings and %d reads; want at most %d", s.Conns, s.Lists, s.Gets, Concurrency+DefaultParallel)
		}
	})
}

// objectKeys yields the keys of b's objects.
func objectKeys(b *Bucket) func(func(string, error) bool) {
	return func(yield func(string, error) bool) {
		for o, err := range b.Objects(context.Background()) {
			if !yield(o.Key, err) {
				return
			}
		}
	}
}

// The client asks for no checksum of an object unless the configuration
// asks it to validate them, and logs nothing for objects stored without
// one.
func TestNewClientChecksums(t *testing.T) {
	srv := newServer(t)
	keys := fixture(t)
	srv.put(t, "trail", keys)
	tests := []struct {
		name   string
		sdk    bool   // the SDK's default client
		env    string // AWS_RESPONSE_CHECKSUM_VALIDATION
		option aws.ResponseChecksumValidation
		mode   string // x-amz-checksum-mode sent
		logged string
	}{
		{name: "by default"},
		{name: "asked for in the environment", env: "when_supported", mode: "ENABLED"},
		{name: "asked for in the options", option: aws.ResponseChecksumValidationWhenSupported, mode: "ENABLED"},
		{name: "declined in the environment", env: "when_required"},
		{name: "the SDK's default", sdk: true, mode: "ENABLED", logged: "Response has no supported checksum"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("AWS_RESPONSE_CHECKSUM_VALIDATION", tt.env)
			var logged bytes.Buffer
			opts := []func(*config.LoadOptions) error{config.WithLogger(logging.NewStandardLogger(&logged))}
			if tt.option != aws.ResponseChecksumValidationUnset {
				opts = append(opts, config.WithResponseChecksumValidation(tt.option))
			}
			client := newClient(t, srv.URL, opts...)
			if tt.sdk {
				client = sdkClient(t, srv.URL, opts...)
			}
			b := &Bucket{Client: client, Name: "trail"}
			srv.mu.Lock()
			srv.modes = nil
			srv.mu.Unlock()
			read, err := archivetest.ReadAll(context.Background(), objectKeys(b), 4, b.Open, nil)
			if err != nil || read.Objects == 0 {
				t.Fatalf("read %d objects: %v", read.Objects, err)
			}
			srv.mu.Lock()
			modes := slices.Compact(slices.Clone(srv.modes))
			srv.mu.Unlock()
			if !slices.Equal(modes, []string{tt.mode}) {
				t.Errorf("x-amz-checksum-mode %q, want %q", modes, tt.mode)
			}
			if tt.logged == "" && logged.Len() > 0 || !strings.Contains(logged.String(), tt.logged) {
				t.Errorf("logged %q, want %q", logged.String(), tt.logged)
			}
		})
	}
}

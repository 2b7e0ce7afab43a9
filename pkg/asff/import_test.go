package asff

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/lambdawatch/lambdawatch/internal/motostate"
	"github.com/lambdawatch/lambdawatch/pkg/detect"
)

// hub is a Security Hub client on endpoint that does not retry itself, so
// that what retries is the importer.
func hub(endpoint string) *securityhub.Client {
	return securityhub.NewFromConfig(motostate.Config(), func(o *securityhub.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.RetryMaxAttempts = 1
	})
}

// virtualTime makes an importer's clock and sleep virtual: sleeping moves
// the clock, and the sleeps are recorded.
type virtualTime struct {
	now    time.Time
	sleeps []time.Duration
}

func (v *virtualTime) install(im *Importer) {
	im.now = func() time.Time { return v.now }
	im.sleep = func(ctx context.Context, d time.Duration) error {
		v.sleeps = append(v.sleeps, d)
		v.now = v.now.Add(d)
		return ctx.Err()
	}
}

// proxy stands in front of moto: it counts BatchImportFindings calls and
// answers the first `throttle` of them 429 LimitExceededException, as
// Security Hub does past its rate.
type proxy struct {
	url      string
	imports  atomic.Int64
	throttle atomic.Int64
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{}
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/findings/import") {
			p.imports.Add(1)
			if p.throttle.Add(-1) >= 0 {
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("X-Amzn-ErrorType", "LimitExceededException")
				w.WriteHeader(http.StatusTooManyRequests)
				fmt.Fprint(w, `{"Code":"LimitExceededException","Message":"Rate exceeded"}`)
				return
			}
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	p.url = srv.URL
	return p
}

func allFindings(t *testing.T, client *securityhub.Client) map[string]types.AwsSecurityFinding {
	t.Helper()
	out := map[string]types.AwsSecurityFinding{}
	p := securityhub.NewGetFindingsPaginator(client, &securityhub.GetFindingsInput{MaxResults: aws.Int32(100)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("GetFindings: %v", err)
		}
		for _, f := range page.Findings {
			if _, dup := out[aws.ToString(f.Id)]; dup {
				t.Errorf("finding %s listed twice", aws.ToString(f.Id))
			}
			out[aws.ToString(f.Id)] = f
		}
	}
	return out
}

func TestImportAgainstMoto(t *testing.T) {
	endpoint := motostate.Start(t)
	ctx := context.Background()
	direct := hub(endpoint)
	px := newProxy(t, endpoint)
	im := NewImporter(hub(px.url))
	clock := &virtualTime{now: importedAt}
	clock.install(im)

	fs := loadFindings(t)
	names := sortedNames(fs)
	var batch []types.AwsSecurityFinding
	for _, n := range names {
		batch = append(batch, FromFinding(fs[n], product, importedAt))
	}

	t.Run("import", func(t *testing.T) {
		res, err := im.Import(ctx, batch)
		if err != nil || res.Imported != len(batch) || res.Calls != 1 {
			t.Fatalf("import: %+v, %v", res, err)
		}
		got := allFindings(t, direct)
		if len(got) != len(batch) {
			t.Fatalf("%d findings in Security Hub, want %d", len(got), len(batch))
		}
		for _, want := range batch {
			f, ok := got[aws.ToString(want.Id)]
			if !ok {
				t.Fatalf("%s not in Security Hub", aws.ToString(want.Id))
			}
			if aws.ToString(f.GeneratorId) != aws.ToString(want.GeneratorId) || f.RecordState != types.RecordStateActive ||
				aws.ToString(f.Description) != aws.ToString(want.Description) || f.Severity == nil || f.Severity.Label != want.Severity.Label {
				t.Errorf("%s came back as %s %s %q", aws.ToString(f.Id), aws.ToString(f.GeneratorId), f.RecordState, aws.ToString(f.Description))
			}
		}
	})

	grant := fs["cross-account-invoke"]
	id := ID(grant)

	t.Run("the same grant found again updates its finding", func(t *testing.T) {
		again := grant
		again.EventID, again.Summary = "audit", "the audit found account 444455556666 may invoke payments:prod"
		again.Principal = "444455556666" // as the stored policy has it
		later := importedAt.Add(time.Hour)
		a := FromFinding(again, product, later)
		if aws.ToString(a.Id) != id {
			t.Fatalf("Id %s, want %s", aws.ToString(a.Id), id)
		}
		if _, err := im.Import(ctx, []types.AwsSecurityFinding{a}); err != nil {
			t.Fatal(err)
		}
		got := allFindings(t, direct)
		if len(got) != len(batch) {
			t.Fatalf("%d findings after the update, want %d (updated, not added)", len(got), len(batch))
		}
		if f := got[id]; aws.ToString(f.Description) != again.Summary || aws.ToString(f.UpdatedAt) != "2026-11-30T11:00:00.000Z" {
			t.Errorf("not updated: %q at %s", aws.ToString(f.Description), aws.ToString(f.UpdatedAt))
		}
	})

	t.Run("archive a finding no longer seen", func(t *testing.T) {
		layer := ID(fs["public-layer"])
		res, err := im.Archive(ctx, []string{layer, id, "lambdawatch/no/such/finding"}, importedAt.Add(2*time.Hour))
		var f Failure
		if !errors.As(err, &f) || f.ID != "lambdawatch/no/such/finding" || f.Code != "NotFound" || res.Imported != 2 || len(res.Failed) != 1 {
			t.Fatalf("archive: %+v, %v", res, err)
		}
		got := allFindings(t, direct)
		if len(got) != len(batch) {
			t.Fatalf("%d findings after archiving, want %d", len(got), len(batch))
		}
		for gid, g := range got {
			want := types.RecordStateActive
			if gid == layer || gid == id {
				want = types.RecordStateArchived
			}
			if g.RecordState != want {
				t.Errorf("%s is %s, want %s", gid, g.RecordState, want)
			}
		}
		if d := aws.ToString(got[id].Description); !strings.Contains(d, "the audit found") {
			t.Errorf("archiving lost the finding's text: %q", d)
		}
	})

	t.Run("a refused finding is named; the others are imported", func(t *testing.T) {
		good := FromFinding(detect.Finding{EventID: "g", Rule: detect.RuleEOLRuntime, Severity: detect.Medium, Account: "111122223333",
			Region: "eu-west-1", ResourceARN: "arn:aws:lambda:eu-west-1:111122223333:function:old", ResourceType: detect.TypeFunction,
			Summary: "old runtime"}, product, importedAt)
		bad := FromFinding(detect.Finding{EventID: "b", Rule: detect.RuleEOLRuntime, Severity: detect.Medium, Account: "111122223333",
			Region: "eu-west-1", ResourceARN: "arn:aws:lambda:eu-west-1:111122223333:function:other", Summary: "no resources"}, product, importedAt)
		bad.Resources = nil // Security Hub requires one
		// A note without its required text: only the SDK's validation
		// knows, and it refuses the whole call.
		badNote := FromFinding(detect.Finding{EventID: "n", Rule: detect.RuleEOLRuntime, Severity: detect.Medium, Account: "111122223333",
			Region: "eu-west-1", ResourceARN: "arn:aws:lambda:eu-west-1:111122223333:function:third", Summary: "bad note"}, product, importedAt)
		badNote.Note = &types.Note{}
		res, err := im.Import(ctx, []types.AwsSecurityFinding{bad, good, badNote})
		if err == nil || res.Imported != 1 || len(res.Failed) != 2 {
			t.Fatalf("import: %+v, %v", res, err)
		}
		if res.Failed[0].ID != aws.ToString(bad.Id) || res.Failed[0].Code != "MissingFields" || !strings.Contains(res.Failed[0].Message, "Resources") {
			t.Errorf("first failure %v", res.Failed[0])
		}
		if res.Failed[1].ID != aws.ToString(badNote.Id) || !strings.Contains(res.Failed[1].Message, "Note") {
			t.Errorf("second failure %v", res.Failed[1])
		}
		for _, f := range res.Failed {
			if !strings.Contains(err.Error(), f.ID) {
				t.Errorf("the error does not name %s", f.ID)
			}
		}
		if _, ok := allFindings(t, direct)[aws.ToString(good.Id)]; !ok {
			t.Error("the good finding was not imported")
		}
	})

	t.Run("250 findings go in 3 calls", func(t *testing.T) {
		before := px.imports.Load()
		var many []types.AwsSecurityFinding
		for i := range 250 {
			many = append(many, bigFinding(t, i+1000, 0))
		}
		res, err := im.Import(ctx, many)
		if err != nil || res.Imported != 250 || res.Calls != 3 {
			t.Fatalf("import: %+v, %v", res, err)
		}
		if n := px.imports.Load() - before; n != 3 {
			t.Errorf("%d BatchImportFindings calls, want 3", n)
		}
		got := allFindings(t, direct)
		for _, f := range many {
			if _, ok := got[aws.ToString(f.Id)]; !ok {
				t.Fatalf("%s not imported", aws.ToString(f.Id))
			}
		}
	})

	t.Run("throttled calls are retried", func(t *testing.T) {
		before := px.imports.Load()
		clock.sleeps = nil
		px.throttle.Store(2)
		a := FromFinding(fs["trail-disabled"], product, importedAt.Add(3*time.Hour))
		res, err := im.Import(ctx, []types.AwsSecurityFinding{a})
		if err != nil || res.Imported != 1 || res.Calls != 3 {
			t.Fatalf("import: %+v, %v", res, err)
		}
		if n := px.imports.Load() - before; n != 3 {
			t.Errorf("%d calls reached Security Hub, want 3 (two throttled)", n)
		}
		var backoff time.Duration
		for _, d := range clock.sleeps {
			backoff += d
		}
		if backoff < 200*time.Millisecond+400*time.Millisecond {
			t.Errorf("waited %v in all between tries, want at least 600ms", backoff)
		}
	})

	t.Run("throttled past the retries fails naming the findings", func(t *testing.T) {
		px.throttle.Store(100)
		defer px.throttle.Store(0)
		a := FromFinding(fs["monitor-tampering-topic"], product, importedAt)
		res, err := im.Import(ctx, []types.AwsSecurityFinding{a})
		if err == nil || !strings.Contains(err.Error(), aws.ToString(a.Id)) || !strings.Contains(err.Error(), "LimitExceededException") ||
			res.Calls != 5 || res.Imported != 0 {
			t.Fatalf("import: %+v, %v", res, err)
		}
	})
}

// TestPace: consecutive calls are at least 1/CallsPerSecond apart on the
// importer's clock.
func TestPace(t *testing.T) {
	var calls []time.Time
	clock := &virtualTime{now: importedAt}
	api := &countingAPI{onImport: func() { calls = append(calls, clock.now) }}
	im := NewImporter(api)
	clock.install(im)
	var fs []types.AwsSecurityFinding
	for i := range 450 {
		fs = append(fs, bigFinding(t, i, 0))
	}
	res, err := im.Import(context.Background(), fs)
	if err != nil || res.Calls != 5 || len(calls) != 5 {
		t.Fatalf("import: %+v, %v, %d calls", res, err, len(calls))
	}
	for i := 1; i < len(calls); i++ {
		if gap := calls[i].Sub(calls[i-1]); gap < time.Second/CallsPerSecond {
			t.Errorf("calls %d and %d %v apart, want at least %v", i-1, i, gap, time.Second/CallsPerSecond)
		}
	}
}

// TestFailedFindings: what Security Hub refuses in a call is reported by
// Id, and the rest of the call counts as imported.
func TestFailedFindings(t *testing.T) {
	var fs []types.AwsSecurityFinding
	for i := range 3 {
		fs = append(fs, bigFinding(t, i, 0))
	}
	refuse := aws.ToString(fs[1].Id)
	api := &countingAPI{refuse: map[string]bool{refuse: true}}
	im := NewImporter(api)
	(&virtualTime{now: importedAt}).install(im)
	res, err := im.Import(context.Background(), fs)
	var f Failure
	if !errors.As(err, &f) || f.ID != refuse || f.Code != "InvalidInput" || res.Imported != 2 || len(res.Failed) != 1 {
		t.Fatalf("import: %+v, %v", res, err)
	}
	if !strings.Contains(err.Error(), refuse) || !strings.Contains(err.Error(), "AwsAccountId is not the caller") {
		t.Errorf("error %v", err)
	}
}

// countingAPI answers BatchImportFindings as Security Hub does, refusing
// the findings named in refuse.
type countingAPI struct {
	onImport func()
	refuse   map[string]bool
}

func (c *countingAPI) BatchImportFindings(_ context.Context, in *securityhub.BatchImportFindingsInput, _ ...func(*securityhub.Options)) (*securityhub.BatchImportFindingsOutput, error) {
	if c.onImport != nil {
		c.onImport()
	}
	out := &securityhub.BatchImportFindingsOutput{}
	var ok, failed int32
	for _, f := range in.Findings {
		if c.refuse[aws.ToString(f.Id)] {
			failed++
			out.FailedFindings = append(out.FailedFindings, types.ImportFindingsError{
				Id: f.Id, ErrorCode: aws.String("InvalidInput"), ErrorMessage: aws.String("AwsAccountId is not the caller"),
			})
			continue
		}
		ok++
	}
	out.SuccessCount, out.FailedCount = aws.Int32(ok), aws.Int32(failed)
	return out, nil
}

func (c *countingAPI) GetFindings(context.Context, *securityhub.GetFindingsInput, ...func(*securityhub.Options)) (*securityhub.GetFindingsOutput, error) {
	return &securityhub.GetFindingsOutput{}, nil
}

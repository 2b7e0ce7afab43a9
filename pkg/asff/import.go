package asff

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/aws-sdk-go-v2/service/securityhub/types"
	"github.com/aws/smithy-go"
	"golang.org/x/time/rate"
)

// Security Hub's limits on BatchImportFindings, in decimal units to stay
// under whichever Security Hub counts in.
const (
	MaxBatchFindings = 100
	MaxBatchBytes    = 6_000_000
	MaxFindingBytes  = 240_000
	// CallsPerSecond is Security Hub's rate for BatchImportFindings per
	// account and region (with a burst of 30); Importer keeps to it.
	CallsPerSecond = 10
	// batchOverhead is {"Findings":[]} around a batch.
	batchOverhead = len(`{"Findings":[]}`)
	// maxGetIDs is how many Ids one GetFindings filter is given.
	maxGetIDs = 20
)

// ThrottleCodes are the errors a throttled Security Hub call returns;
// Importer retries them.
var ThrottleCodes = []string{"LimitExceededException", "ThrottlingException", "TooManyRequestsException"}

// API is the part of the Security Hub client Importer uses.
type API interface {
	BatchImportFindings(ctx context.Context, in *securityhub.BatchImportFindingsInput, opts ...func(*securityhub.Options)) (*securityhub.BatchImportFindingsOutput, error)
	GetFindings(ctx context.Context, in *securityhub.GetFindingsInput, opts ...func(*securityhub.Options)) (*securityhub.GetFindingsOutput, error)
}

// Importer sends findings to Security Hub within its limits. It is safe
// for one goroutine at a time.
type Importer struct {
	api      API
	limiter  *rate.Limiter
	attempts int
	backoff  time.Duration
	now      func() time.Time
	sleep    func(context.Context, time.Duration) error
}

// Option sets an Importer's behaviour.
type Option func(*Importer)

// WithRate sets the calls a second the importer makes (CallsPerSecond).
func WithRate(perSecond float64) Option {
	return func(im *Importer) {
		if perSecond > 0 {
			im.limiter = rate.NewLimiter(rate.Limit(perSecond), 1)
		}
	}
}

// WithRetries sets how many times a throttled call is tried in all (5)
// and the first wait between tries, which doubles up to 5 seconds (200ms).
func WithRetries(attempts int, backoff time.Duration) Option {
	return func(im *Importer) {
		if attempts > 0 {
			im.attempts = attempts
		}
		if backoff > 0 {
			im.backoff = backoff
		}
	}
}

// NewImporter is an importer over a Security Hub client.
func NewImporter(api API, opts ...Option) *Importer {
	im := &Importer{
		api:      api,
		limiter:  rate.NewLimiter(CallsPerSecond, 1),
		attempts: 5,
		backoff:  200 * time.Millisecond,
		now:      time.Now,
		sleep:    sleep,
	}
	for _, o := range opts {
		o(im)
	}
	return im
}

// Failure is a finding Security Hub did not import.
type Failure struct {
	ID, Code, Message string
}

func (f Failure) Error() string {
	return fmt.Sprintf("asff import %s: %s: %s", f.ID, f.Code, f.Message)
}

// Result is what an Import did.
type Result struct {
	Imported int
	Calls    int // BatchImportFindings calls, retries included
	Failed   []Failure
}

// Import sends findings in as few BatchImportFindings calls as the limits
// allow, in order, paced and retrying throttled calls. A finding that is
// refused, too large, or in a call that failed is a Failure naming its
// Id; the others are imported all the same. The error joins every
// failure, nil when there is none.
func (im *Importer) Import(ctx context.Context, findings []types.AwsSecurityFinding) (Result, error) {
	var res Result
	batches, refused := Batch(findings)
	res.Failed = append(res.Failed, refused...)
	for i := 0; i < len(batches); i++ {
		b := batches[i]
		out, calls, err := im.importBatch(ctx, b)
		res.Calls += calls
		var invalid smithy.InvalidParamsError
		if err != nil && len(b) > 1 && errors.As(err, &invalid) {
			// The SDK refuses the whole call for one finding it finds
			// invalid: send them one by one, so only that one fails.
			singles := make([][]types.AwsSecurityFinding, len(b))
			for j := range b {
				singles[j] = b[j : j+1]
			}
			batches = append(batches[:i+1], append(singles, batches[i+1:]...)...)
			continue
		}
		if err != nil {
			for _, f := range b {
				res.Failed = append(res.Failed, Failure{ID: aws.ToString(f.Id), Code: "CallFailed", Message: err.Error()})
			}
			if ctx.Err() != nil {
				break
			}
			continue
		}
		res.Imported += int(aws.ToInt32(out.SuccessCount))
		for _, ff := range out.FailedFindings {
			res.Failed = append(res.Failed, Failure{ID: aws.ToString(ff.Id), Code: aws.ToString(ff.ErrorCode), Message: aws.ToString(ff.ErrorMessage)})
		}
	}
	errs := make([]error, len(res.Failed))
	for i, f := range res.Failed {
		errs[i] = f
	}
	return res, errors.Join(errs...)
}

func (im *Importer) importBatch(ctx context.Context, b []types.AwsSecurityFinding) (*securityhub.BatchImportFindingsOutput, int, error) {
	wait := im.backoff
	for attempt := 1; ; attempt++ {
		if err := im.pace(ctx); err != nil {
			return nil, attempt - 1, err
		}
		out, err := im.api.BatchImportFindings(ctx, &securityhub.BatchImportFindingsInput{Findings: b})
		if err == nil {
			return out, attempt, nil
		}
		err = fmt.Errorf("securityhub BatchImportFindings of %d findings: %w", len(b), err)
		if !throttled(err) || attempt >= im.attempts {
			return nil, attempt, err
		}
		if serr := im.sleep(ctx, wait); serr != nil {
			return nil, attempt, errors.Join(err, serr)
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// pace waits for the limiter's next slot, on the importer's clock.
func (im *Importer) pace(ctx context.Context) error {
	now := im.now()
	r := im.limiter.ReserveN(now, 1)
	if !r.OK() {
		return errors.New("asff: rate limiter refused a call")
	}
	if d := r.DelayFrom(now); d > 0 {
		if err := im.sleep(ctx, d); err != nil {
			r.CancelAt(im.now())
			return err
		}
	}
	return nil
}

func throttled(err error) bool {
	var api smithy.APIError
	if !errors.As(err, &api) {
		return false
	}
	for _, c := range ThrottleCodes {
		if api.ErrorCode() == c {
			return true
		}
	}
	return false
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Batch splits findings, in order, into batches of at most
// MaxBatchFindings findings and MaxBatchBytes bytes. A finding over
// MaxFindingBytes, or that cannot be measured, is left out and returned
// as a Failure naming its Id.
func Batch(findings []types.AwsSecurityFinding) ([][]types.AwsSecurityFinding, []Failure) {
	var (
		batches [][]types.AwsSecurityFinding
		failed  []Failure
		cur     []types.AwsSecurityFinding
		size    = batchOverhead
	)
	for _, f := range findings {
		if missing := missingFields(f); len(missing) > 0 {
			failed = append(failed, Failure{ID: aws.ToString(f.Id), Code: "MissingFields",
				Message: "required by BatchImportFindings: " + strings.Join(missing, ", ")})
			continue
		}
		b, err := JSON(f)
		if err != nil {
			failed = append(failed, Failure{ID: aws.ToString(f.Id), Code: "Unmeasurable", Message: err.Error()})
			continue
		}
		if len(b) > MaxFindingBytes {
			failed = append(failed, Failure{ID: aws.ToString(f.Id), Code: "TooLarge",
				Message: fmt.Sprintf("%d bytes in ASFF, Security Hub takes at most %d", len(b), MaxFindingBytes)})
			continue
		}
		add := len(b)
		if len(cur) > 0 {
			add++ // the comma
		}
		if len(cur) == MaxBatchFindings || size+add > MaxBatchBytes {
			batches = append(batches, cur)
			cur, size, add = nil, batchOverhead, len(b)
		}
		cur = append(cur, f)
		size += add
	}
	if len(cur) > 0 {
		batches = append(batches, cur)
	}
	return batches, failed
}

// missingFields lists the fields BatchImportFindings requires that f
// lacks.
func missingFields(f types.AwsSecurityFinding) []string {
	var missing []string
	for _, r := range []struct {
		name string
		v    *string
	}{
		{"SchemaVersion", f.SchemaVersion}, {"Id", f.Id}, {"ProductArn", f.ProductArn}, {"GeneratorId", f.GeneratorId},
		{"AwsAccountId", f.AwsAccountId}, {"CreatedAt", f.CreatedAt}, {"UpdatedAt", f.UpdatedAt},
		{"Title", f.Title}, {"Description", f.Description},
	} {
		if r.v == nil {
			missing = append(missing, r.name)
		}
	}
	if len(f.Resources) == 0 {
		missing = append(missing, "Resources")
	}
	for i, r := range f.Resources {
		if r.Id == nil {
			missing = append(missing, fmt.Sprintf("Resources[%d].Id", i))
		}
		if r.Type == nil {
			missing = append(missing, fmt.Sprintf("Resources[%d].Type", i))
		}
	}
	return missing
}

// Get reads the findings with these Ids from Security Hub; an Id it does
// not hold is left out.
func (im *Importer) Get(ctx context.Context, ids []string) ([]types.AwsSecurityFinding, error) {
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	var out []types.AwsSecurityFinding
	for start := 0; start < len(ids); start += maxGetIDs {
		chunk := ids[start:min(start+maxGetIDs, len(ids))]
		filters := make([]types.StringFilter, len(chunk))
		for i, id := range chunk {
			filters[i] = types.StringFilter{Comparison: types.StringFilterComparisonEquals, Value: aws.String(id)}
		}
		in := &securityhub.GetFindingsInput{Filters: &types.AwsSecurityFindingFilters{Id: filters}, MaxResults: aws.Int32(100)}
		p := securityhub.NewGetFindingsPaginator(im.api, in)
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return out, fmt.Errorf("securityhub GetFindings of %d Ids: %w", len(chunk), err)
			}
			for _, f := range page.Findings {
				// The filter is applied again here: what comes back is
				// never taken for a finding that was not asked for.
				if id := aws.ToString(f.Id); want[id] {
					out = append(out, f)
					delete(want, id)
				}
			}
		}
	}
	return out, nil
}

// Archive marks the findings with these Ids ARCHIVED as of now, each as it
// stands in Security Hub, and reports the Ids it could not find as
// failures with Code NotFound.
func (im *Importer) Archive(ctx context.Context, ids []string, now time.Time) (Result, error) {
	found, err := im.Get(ctx, ids)
	if err != nil {
		return Result{}, fmt.Errorf("asff archive: %w", err)
	}
	seen := map[string]bool{}
	archived := make([]types.AwsSecurityFinding, len(found))
	for i, f := range found {
		archived[i] = Archived(f, now)
		seen[aws.ToString(f.Id)] = true
	}
	res, err := im.Import(ctx, archived)
	var missing []error
	for _, id := range ids {
		if !seen[id] {
			f := Failure{ID: id, Code: "NotFound", Message: "no such finding in Security Hub"}
			res.Failed = append(res.Failed, f)
			missing = append(missing, f)
		}
	}
	return res, errors.Join(append([]error{err}, missing...)...)
}

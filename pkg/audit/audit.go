package audit

import (
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options shape an audit.
type Options struct {
	// Concurrency bounds the calls in flight to each service of each
	// account and region (IAM: of each account); 0 means
	// DefaultConcurrency.
	Concurrency int
	// WAFInterval paces the WAF calls AWS allows about once a second
	// (GetWebACLForResource, ListResourcesForWebACL); 0 means
	// DefaultWAFInterval, a negative value no pacing.
	WAFInterval time.Duration
	// Progress, when set, hears of functions found and read.
	Progress Progress
	// IgnoreLambdaQuotas stops pacing Lambda's calls. Paced, they go at
	// the rates Lambda's API allows each account and region, so that a
	// large account is read without a storm of throttling: GetPolicy 15
	// a second, GetFunction 100, the rest of the control plane (the
	// lists, URL configurations, layer policies) 15 together. Stand-ins
	// that have no such quotas are read faster unpaced.
	IgnoreLambdaQuotas bool
}

// Lambda's API request quotas, a second, per account and region; AWS
// does not raise them.
const (
	GetPolicyRate    = 15
	GetFunctionRate  = 100
	ControlPlaneRate = 15
)

// DefaultConcurrency is the calls in flight per service: Lambda's read
// calls allow 15 to 100 a second per account, so a few at a time stay
// well inside while hiding the latency.
const DefaultConcurrency = 8

// DefaultWAFInterval is WAF's pace for its once-a-second calls.
const DefaultWAFInterval = time.Second

// Progress hears how far an audit has come.
type Progress interface {
	Found(n int) // n more functions are to be read
	Done(n int)  // n more functions have been read
}

// Auditor reads accounts. It remembers the IAM roles and managed policies
// it has read for the whole run, so a role shared by many functions, or a
// managed policy attached to many roles, is read once. It is safe for
// concurrent use.
type Auditor struct {
	opts     Options
	roles    memo[*Role]
	policies memo[ManagedPolicy]
}

// New returns an auditor.
func New(opts Options) *Auditor {
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultConcurrency
	}
	if opts.WAFInterval == 0 {
		opts.WAFInterval = DefaultWAFInterval
	}
	return &Auditor{opts: opts}
}

// AccountInventory is what an account holds in the regions read.
type AccountInventory struct {
	Account   string
	Partition string
	Regions   []*Inventory
	// Roles are the execution roles of the functions found, by ARN.
	Roles map[string]*Role
	// Errors are the account's calls outside any region that failed
	// (IAM); each region keeps its own.
	Errors []error
}

// Audit reads acct in each region, the regions at once.
func (a *Auditor) Audit(ctx context.Context, acct Account, regions []string) *AccountInventory {
	out := &AccountInventory{Account: acct.ID, Partition: acct.Partition, Roles: map[string]*Role{}}
	rs := &roleReader{a: a, acct: acct, sem: newSem(a.opts.Concurrency)}
	var wg sync.WaitGroup
	out.Regions = make([]*Inventory, len(regions))
	for i, region := range regions {
		wg.Go(func() {
			out.Regions[i] = a.region(ctx, acct, region, rs)
		})
	}
	wg.Wait()
	rs.wg.Wait()
	rs.mu.Lock()
	defer rs.mu.Unlock()
	for _, r := range rs.roles {
		out.Roles[r.ARN] = r
	}
	out.Errors = rs.errs
	return out
}

// regionRun is the state of one region's reading.
type regionRun struct {
	a       *Auditor
	acct    Account
	c       RegionClients
	inv     *Inventory
	lambda  sem
	rest    sem
	http    sem
	elb     sem
	waf     sem
	wafPace *pacer
	// Lambda's quota pools; nil when not paced.
	policyPace, functionPace, controlPace *pacer
	mu                                    sync.Mutex // guards inv.Errors and inv.Notes
	// urlList says whether the endpoint serves ListFunctionUrlConfigs:
	// urlUnknown until the first function's call has told, which
	// urlProbe serializes so that the rest wait for it.
	urlList  atomic.Int32
	urlProbe sync.Mutex
}

func (a *Auditor) region(ctx context.Context, acct Account, region string, rs *roleReader) *Inventory {
	r := &regionRun{
		a: a, acct: acct, c: acct.Region(region),
		inv:    &Inventory{Account: acct.ID, Partition: acct.Partition, Region: region},
		lambda: newSem(a.opts.Concurrency), rest: newSem(a.opts.Concurrency), http: newSem(a.opts.Concurrency),
		elb: newSem(a.opts.Concurrency), waf: newSem(a.opts.Concurrency),
		wafPace: newPacer(a.opts.WAFInterval),
	}
	if !a.opts.IgnoreLambdaQuotas {
		r.policyPace = newPacer(time.Second / GetPolicyRate)
		r.functionPace = newPacer(time.Second / GetFunctionRate)
		r.controlPace = newPacer(time.Second / ControlPlaneRate)
	}
	var wg sync.WaitGroup
	wg.Go(func() { r.functions(ctx, rs) })
	wg.Go(func() { r.layers(ctx) })
	wg.Go(func() { r.restAPIs(ctx) })
	wg.Go(func() { r.httpAPIs(ctx) })
	wg.Go(func() { r.loadBalancers(ctx) })
	wg.Wait()
	sortErrors(r.inv.Errors)
	return r.inv
}

// fail records a call that failed.
func (r *regionRun) fail(service, call, resource string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.inv.Errors = append(r.inv.Errors, &CallError{Where: r.inv.Region, Service: service, Call: call, Resource: resource, Err: err})
}

func (r *regionRun) note(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.inv.Notes = append(r.inv.Notes, s)
}

// sortErrors orders errors by text, so that output does not depend on
// which call failed first.
func sortErrors(errs []error) {
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
}

// sem bounds the calls in flight.
type sem chan struct{}

func newSem(n int) sem { return make(sem, n) }

// do runs f holding a slot, unless ctx ends first.
func (s sem) do(ctx context.Context, f func() error) error {
	select {
	case s <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s }()
	return f()
}

// pacer lets calls through at most once an interval.
type pacer struct {
	mu    sync.Mutex
	every time.Duration
	next  time.Time
}

func newPacer(every time.Duration) *pacer { return &pacer{every: every} }

// wait blocks until the next call may go, or ctx ends.
func (p *pacer) wait(ctx context.Context) error {
	if p.every <= 0 {
		return ctx.Err()
	}
	p.mu.Lock()
	now := time.Now()
	at := now
	if p.next.After(now) {
		at = p.next
	}
	p.next = at.Add(p.every)
	p.mu.Unlock()
	if d := at.Sub(now); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// memo computes each key's value once, for every caller at once.
type memo[V any] struct {
	mu sync.Mutex
	m  map[string]*memoEntry[V]
}

type memoEntry[V any] struct {
	done chan struct{}
	v    V
	err  error
}

// get returns key's value, computing it with fill if no one has; first
// is true for the one caller whose fill ran, so that its error is
// reported once.
func (m *memo[V]) get(key string, fill func() (V, error)) (v V, err error, first bool) {
	m.mu.Lock()
	if m.m == nil {
		m.m = map[string]*memoEntry[V]{}
	}
	e, ok := m.m[key]
	if !ok {
		e = &memoEntry[V]{done: make(chan struct{})}
		m.m[key] = e
	}
	m.mu.Unlock()
	if ok {
		<-e.done
		return e.v, e.err, false
	}
	defer close(e.done)
	e.v, e.err = fill()
	return e.v, e.err, true
}

package archive

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"iter"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// API is what the archive needs of *s3.Client.
type API interface {
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// Concurrency is how many objects a scan of a bucket reads at once: an
// object waits tens of milliseconds on the network, so many are in flight
// to keep the cores busy, and a scan reads at most Concurrency divided by
// that wait a second. A client from NewClient keeps a connection for each
// of them and for each of the DefaultParallel listings Bucket runs, and no
// more: requests past those wait for a connection.
const Concurrency = 64

// DefaultParallel is how many listings Bucket runs at once by default.
const DefaultParallel = 16

// searchDepth is how many folders below the prefix a walk looks for
// AWSLogs/ folder by folder; deeper folders outside the layout are listed
// whole, a thousand keys a request, since nothing in them can be pruned.
const searchDepth = 3

// pageBuffer is how many listed pages a folder holds ahead of the reader.
const pageBuffer = 2

// Bucket is an archive in S3: the log files under Prefix in bucket Name.
type Bucket struct {
	Client   API
	Name     string
	Prefix   string
	Filter   Filter
	Parallel int // listings at once; 0 means DefaultParallel
}

// Object is a file to scan.
type Object struct {
	Key  string
	Size int64
	// Unfiltered is set when the key lies outside the layout while a bound
	// is set, so the bound could not be applied (see Filter.Unfiltered).
	Unfiltered bool
}

// ParseURL splits s3://bucket/prefix into its bucket and prefix.
func ParseURL(s string) (bucket, prefix string, err error) {
	rest, ok := strings.CutPrefix(s, "s3://")
	if !ok {
		return "", "", fmt.Errorf("%q: want s3://BUCKET[/PREFIX]", s)
	}
	bucket, prefix, _ = strings.Cut(rest, "/")
	if bucket == "" || strings.ContainsAny(bucket, " \t\r\n") {
		return "", "", fmt.Errorf("%q: want s3://BUCKET[/PREFIX] with a bucket name", s)
	}
	return bucket, prefix, nil
}

// NewClient makes an S3 client as the AWS CLI would: credentials, region
// and endpoint from the environment, shared config and credentials files,
// SSO, web identity, container or instance roles. A custom endpoint
// (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, or endpoint_url in the profile)
// gets path-style requests, which S3-compatible servers expect.
//
// The client is shaped for reading many small objects at once:
//   - it keeps a connection to the bucket's host for every request Bucket
//     and a scan keep in flight (Concurrency reads, DefaultParallel
//     listings), and no more: connections are reused rather than closed
//     after a response and opened again, a TLS handshake each against S3;
//   - it does not ask S3 for the checksums of objects, unless
//     response_checksum_validation (or AWS_RESPONSE_CHECKSUM_VALIDATION)
//     asks for them: TLS already protects each response, and a log file
//     carries its own CRC-32 in its gzip trailer, which the reader checks.
//     Validation would hash every byte again, and log a line for every
//     object stored without a checksum.
func NewClient(ctx context.Context, optFns ...func(*config.LoadOptions) error) (*s3.Client, error) {
	cfg, err := config.LoadDefaultConfig(ctx, optFns...)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1" // S3 needs one to sign; AWS_REGION picks another
	}
	if !checksumValidationSet(cfg.ConfigSources) {
		cfg.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	}
	cfg.HTTPClient = pooled(cfg.HTTPClient)
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		if o.BaseEndpoint != nil {
			o.UsePathStyle = true
		}
		o.DisableLogOutputChecksumValidationSkipped = true
	}), nil
}

// idleConns is how many connections a client keeps to S3: one for each
// request a scan has in flight, so none is closed only to be opened again.
const idleConns = Concurrency + DefaultParallel

// pooled gives the SDK's HTTP client a pool of idleConns connections to
// each host, idle or not. Without the cap on open ones, a request that
// finds no idle connection dials one even when another is a moment from
// coming back, and the pool grows past the requests in flight; with it, a
// request beyond idleConns waits for a connection to come back. A client
// of another kind, given in the options, is the caller's to shape.
func pooled(c aws.HTTPClient) aws.HTTPClient {
	if c == nil {
		c = awshttp.NewBuildableClient()
	}
	b, ok := c.(*awshttp.BuildableClient)
	if !ok {
		return c
	}
	return b.WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConnsPerHost = max(t.MaxIdleConnsPerHost, idleConns)
		t.MaxIdleConns = max(t.MaxIdleConns, idleConns)
		t.MaxConnsPerHost = idleConns
	})
}

// checksumValidationSet says whether the environment, the shared config
// or the load options chose whether responses are validated.
func checksumValidationSet(sources []any) bool {
	for _, src := range sources {
		var v aws.ResponseChecksumValidation
		switch c := src.(type) {
		case config.EnvConfig:
			v = c.ResponseChecksumValidation
		case config.SharedConfig:
			v = c.ResponseChecksumValidation
		case config.LoadOptions:
			v = c.ResponseChecksumValidation
		}
		if v != aws.ResponseChecksumValidationUnset {
			return true
		}
	}
	return false
}

// URL names key as s3://bucket/key.
func (b *Bucket) URL(key string) string {
	return "s3://" + b.Name + "/" + key
}

// Open reads the object key.
func (b *Bucket) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	out, err := b.Client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b.Name), Key: aws.String(key)})
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", b.URL(key), err)
	}
	return out.Body, nil
}

// folder is a prefix to list, and what of its listing the reader has not
// read yet.
type folder struct {
	prefix  string
	flat    bool // list every key below, without a delimiter
	depth   int  // folders below the prefix the walk started at
	started bool
	done    bool      // the listing has ended
	items   []item    // listed and not yet read, in key order
	subs    []*folder // listed subfolders the reader has not entered, in key order
	// The lister waits on more after each page, so that a folder read
	// ahead holds at most about pageBuffer pages.
	more    chan struct{}
	waiting bool // the lister waits on more
}

// page is one listing response, filed by the walk under its folder.
type page struct {
	f     *folder
	items []item
	last  bool // the listing ends with this page
}

// item is an object, a folder or a listing error, in key order.
type item struct {
	obj    Object
	folder *folder // nil for an object or an error
	err    error   // the listing failed here
}

func (it item) name() string {
	if it.folder != nil {
		return it.folder.prefix
	}
	return it.obj.Key
}

// pageKeys is the most keys and folders S3 returns for one request.
const pageKeys = 1000

// Objects yields the objects to scan in key order, as the listing goes.
//
// With no bound set, nothing can be skipped by its folder: it lists every
// key below the prefix, a thousand a request, and keeps the record files.
// With a bound, it walks folder by folder (delimiter /) through the
// layout, skipping folders the Filter rules out before listing them, and
// lists up to Parallel folders at once, reading ahead of the consumer in
// key order, folders within folders as soon as they are listed, so the
// walk waits on a level of folders only where the consumer has caught up.
//
// A listing error is yielded where the folder it concerns would have
// been, and the walk goes on; a cancelled context ends it with the
// context's error.
func (b *Bucket) Objects(ctx context.Context) iter.Seq2[Object, error] {
	return func(yield func(Object, error) bool) {
		parallel := b.Parallel
		if parallel <= 0 {
			parallel = DefaultParallel
		}
		// Descend rules on the folder the prefix is in, not on a partial
		// name: s3://bucket/AWSLogs/1111 is a prefix of accounts.
		within := b.Prefix[:strings.LastIndex(b.Prefix, "/")+1]
		if !b.Filter.Descend(within) {
			return
		}
		ctx, cancel := context.WithCancel(ctx)
		w := &walk{
			b:     b,
			ctx:   ctx,
			sem:   make(chan struct{}, parallel),
			pages: make(chan page, parallel),
			out:   make(chan result, outBuffer),
			// Folders started ahead of the reader: enough to keep every
			// listing slot busy while the reader is in one folder.
			ahead: 4 * parallel,
		}
		defer w.wg.Wait()
		defer cancel()
		root := &folder{prefix: b.Prefix, flat: !b.Filter.Bounded() || flatBelow(within, 0)}
		w.start(root)
		w.stack = []*folder{root}
		w.wg.Go(w.run)
		for r := range w.out {
			if ctx.Err() != nil {
				break
			}
			if !yield(r.obj, r.err) {
				return
			}
		}
		if err := ctx.Err(); err != nil {
			yield(Object{}, fmt.Errorf("list %s: %w", b.URL(b.Prefix), err))
		}
	}
}

// outBuffer is how many objects the walk holds ready for the consumer.
const outBuffer = 64

// result is an object or an error, in key order.
type result struct {
	obj Object
	err error
}

// walk is the state of one Objects: the folders the walk is in, from the
// prefix down, and the listings under way. One goroutine runs it, so
// listing ahead goes on while the consumer is busy.
type walk struct {
	b     *Bucket
	ctx   context.Context
	sem   chan struct{} // a slot for each listing request under way
	pages chan page     // from the listers to run
	out   chan result   // from run to the consumer
	wg    sync.WaitGroup
	ahead int
	open  int // folders started and not yet read to their end
	stack []*folder
	// more folders may be startable: a page came, or a folder was read
	// to its end.
	dirty bool
}

func (w *walk) start(f *folder) {
	f.started = true
	f.more = make(chan struct{}, 1)
	w.open++
	w.wg.Go(func() { w.b.list(w.ctx, f, w.sem, w.pages) })
}

// run sends the objects and errors to w.out in key order, filing pages as
// they come, until the walk ends or its context does.
func (w *walk) run() {
	defer close(w.out)
	for len(w.stack) > 0 {
		top := w.stack[len(w.stack)-1]
		if len(top.items) == 0 {
			if top.done {
				w.stack = w.stack[:len(w.stack)-1]
				w.open--
				w.dirty = true
				continue
			}
			w.fill()
			select {
			case pg := <-w.pages:
				w.receive(pg)
			case <-w.ctx.Done():
				return
			}
			continue
		}
		it := top.items[0]
		if it.folder != nil {
			// it.folder is top.subs[0]: the walk enters it now, and
			// starts it whatever the look-ahead allows, so it never waits
			// on itself.
			top.items, top.subs = top.items[1:], top.subs[1:]
			w.release(top)
			if !it.folder.started {
				w.start(it.folder)
			}
			w.stack = append(w.stack, it.folder)
			continue
		}
		w.fill()
		select {
		case w.out <- result{obj: it.obj, err: it.err}:
			top.items = top.items[1:]
			w.release(top)
		case pg := <-w.pages:
			w.receive(pg)
		case <-w.ctx.Done():
			return
		}
	}
}

// receive files a page under its folder and lets the lister go on.
func (w *walk) receive(pg page) {
	f := pg.f
	f.items = append(f.items, pg.items...)
	for _, it := range pg.items {
		if it.folder != nil {
			f.subs = append(f.subs, it.folder)
		}
	}
	w.dirty = true
	if pg.last {
		f.done = true
		return
	}
	f.waiting = true
	w.release(f)
}

// release lets f's lister list the next page while f holds fewer than
// pageBuffer pages of items the reader has not read.
func (w *walk) release(f *folder) {
	if f.waiting && len(f.items) < pageBuffer*pageKeys {
		f.waiting = false
		f.more <- struct{}{}
	}
}

// fill starts the folders next in key order after the reader, as many as
// the look-ahead allows: the rest of each folder the reader is in, and
// within them the folders already listed.
func (w *walk) fill() {
	if !w.dirty {
		return
	}
	w.dirty = false
	for i := len(w.stack) - 1; i >= 0; i-- {
		for _, f := range w.stack[i].subs {
			if !w.visit(f) {
				return
			}
		}
	}
}

// visit starts f, or the folders listed within it, in key order; it
// reports false once the look-ahead is full.
func (w *walk) visit(f *folder) bool {
	if !f.started {
		if w.open >= w.ahead {
			return false
		}
		w.start(f)
		return true
	}
	for _, g := range f.subs {
		if !w.visit(g) {
			return false
		}
	}
	return true
}

// list lists folder f a page at a time, holding a listing slot only while
// a request is under way, so folders read ahead never block the one the
// reader waits on.
func (b *Bucket) list(ctx context.Context, f *folder, sem chan struct{}, pages chan<- page) {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(b.Name), Prefix: aws.String(f.prefix)}
	if !f.flat {
		in.Delimiter = aws.String("/")
	}
	for {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		out, err := b.Client.ListObjectsV2(ctx, in)
		<-sem
		pg := page{f: f, last: true}
		switch {
		case err != nil:
			pg.items = []item{{err: fmt.Errorf("list %s: %w", b.URL(f.prefix), err)}}
		default:
			pg.items = b.items(f, out)
			next := aws.ToString(out.NextContinuationToken)
			switch {
			case !aws.ToBool(out.IsTruncated) || next == "":
			case next == aws.ToString(in.ContinuationToken):
				// A listing that does not move on would never end.
				pg.items = append(pg.items, item{err: fmt.Errorf("list %s: the continuation token %q came back unchanged", b.URL(f.prefix), next)})
			default:
				pg.last = false
				in.ContinuationToken = out.NextContinuationToken
			}
		}
		select {
		case pages <- pg:
		case <-ctx.Done():
			return
		}
		if pg.last {
			return
		}
		select {
		case <-f.more:
		case <-ctx.Done():
			return
		}
	}
}

// items keeps the objects and folders of a page that the filter allows, in
// key order: a folder's keys all sort between the names around it.
func (b *Bucket) items(f *folder, out *s3.ListObjectsV2Output) []item {
	items := make([]item, 0, len(out.Contents)+len(out.CommonPrefixes))
	for _, o := range out.Contents {
		key := aws.ToString(o.Key)
		if keep, unfiltered := b.Filter.check(key); keep {
			items = append(items, item{obj: Object{Key: key, Size: aws.ToInt64(o.Size), Unfiltered: unfiltered}})
		}
	}
	for _, p := range out.CommonPrefixes {
		prefix := aws.ToString(p.Prefix)
		if b.Filter.Descend(prefix) {
			items = append(items, item{folder: &folder{prefix: prefix, depth: f.depth + 1, flat: flatBelow(prefix, f.depth+1)}})
		}
	}
	slices.SortFunc(items, func(a, b item) int { return cmp.Compare(a.name(), b.name()) })
	return items
}

// flatBelow says whether the folder at prefix is listed whole rather than
// folder by folder: below a day folder, where the layout broke off, and
// deep outside the layout, nothing more can be pruned.
func flatBelow(prefix string, depth int) bool {
	p := parse(prefix, false)
	switch {
	case p.anchored:
		return p.complete || p.broken
	case p.lastLogs:
		return false
	default:
		return depth > searchDepth
	}
}

package archive

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"iter"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// API is what the archive needs of *s3.Client.
type API interface {
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

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
func NewClient(ctx context.Context, optFns ...func(*config.LoadOptions) error) (*s3.Client, error) {
	cfg, err := config.LoadDefaultConfig(ctx, optFns...)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1" // S3 needs one to sign; AWS_REGION picks another
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		if o.BaseEndpoint != nil {
			o.UsePathStyle = true
		}
	}), nil
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

// folder is a prefix to list, and its listing, streamed a page at a time.
type folder struct {
	prefix  string
	flat    bool // list every key below, without a delimiter
	depth   int  // folders below the prefix the walk started at
	started bool
	pages   chan page // closed when the listing ends
}

type page struct {
	items []item
	err   error
}

// item is an object or a folder in a listing.
type item struct {
	obj    Object
	folder *folder // nil for an object
}

func (it item) name() string {
	if it.folder != nil {
		return it.folder.prefix
	}
	return it.obj.Key
}

// level is a folder being read: its listed items and a cursor.
type level struct {
	f     *folder
	items []item
	next  int
	done  bool
}

// Objects yields the objects to scan in key order, as the listing goes.
// It walks folder by folder (delimiter /) through the layout, skipping
// folders the Filter rules out before listing them, and lists up to
// Parallel folders at once, reading ahead of the consumer in key order. A
// listing error is yielded with the folder it concerns and the walk goes
// on; a cancelled context ends it with the context's error.
func (b *Bucket) Objects(ctx context.Context) iter.Seq2[Object, error] {
	return func(yield func(Object, error) bool) {
		parallel := b.Parallel
		if parallel <= 0 {
			parallel = DefaultParallel
		}
		// Folders started ahead of the reader: enough to keep every
		// listing slot busy while the reader is in one folder.
		ahead := 4 * parallel
		var wg sync.WaitGroup
		defer wg.Wait()
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		sem := make(chan struct{}, parallel)

		open := 0 // folders started and not yet read to the end
		start := func(f *folder) {
			f.started = true
			f.pages = make(chan page, pageBuffer)
			open++
			wg.Go(func() { b.list(ctx, f, sem) })
		}
		// Descend rules on the folder the prefix is in, not on a partial
		// name: s3://bucket/AWSLogs/1111 is a prefix of accounts.
		within := b.Prefix[:strings.LastIndex(b.Prefix, "/")+1]
		if !b.Filter.Descend(within) {
			return
		}
		root := &folder{prefix: b.Prefix, flat: flatBelow(within, 0)}
		start(root)
		stack := []*level{{f: root}}
		// fill starts the folders next in key order, as far ahead as
		// allowed.
		fill := func() {
			for i := len(stack) - 1; i >= 0 && open < ahead; i-- {
				for _, it := range stack[i].items[stack[i].next:] {
					if open >= ahead {
						return
					}
					if it.folder != nil && !it.folder.started {
						start(it.folder)
					}
				}
			}
		}
		for len(stack) > 0 {
			top := stack[len(stack)-1]
			if top.next == len(top.items) {
				if top.done {
					stack = stack[:len(stack)-1]
					open--
					continue
				}
				fill()
				var (
					pg page
					ok bool
				)
				select {
				case pg, ok = <-top.f.pages:
				case <-ctx.Done():
				}
				if err := ctx.Err(); err != nil {
					yield(Object{}, fmt.Errorf("list s3://%s/%s: %w", b.Name, b.Prefix, err))
					return
				}
				if !ok {
					top.done = true
					continue
				}
				top.items, top.next = pg.items, 0
				if pg.err != nil && !yield(Object{}, pg.err) {
					return
				}
				continue
			}
			it := top.items[top.next]
			top.next++
			if it.folder == nil {
				if !yield(it.obj, nil) {
					return
				}
				continue
			}
			// The reader needs this folder now: it starts whatever the
			// look-ahead allows, so the walk never waits on itself.
			if !it.folder.started {
				start(it.folder)
			}
			stack = append(stack, &level{f: it.folder})
		}
	}
}

// list lists folder f a page at a time, holding a listing slot only while
// a request is under way, so folders read ahead never block the one the
// reader waits on.
func (b *Bucket) list(ctx context.Context, f *folder, sem chan struct{}) {
	defer close(f.pages)
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
		var pg page
		if err != nil {
			pg.err = fmt.Errorf("list s3://%s/%s: %w", b.Name, f.prefix, err)
		} else {
			pg.items = b.items(f, out)
		}
		select {
		case f.pages <- pg:
		case <-ctx.Done():
			return
		}
		if err != nil || !aws.ToBool(out.IsTruncated) || out.NextContinuationToken == nil {
			return
		}
		in.ContinuationToken = out.NextContinuationToken
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

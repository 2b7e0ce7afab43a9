// Package ledger remembers, in the state table, what the audit found in
// each account and region on its last run: each finding's fingerprint,
// when it was first and last seen, and whether it was alerted. From it a
// digest says what is new and what was resolved, and a new finding alerts
// once however many runs see it.
//
// # The items
//
// One item per account and region, in the state table (partition key pk,
// TTL on ttl):
//
//	pk       audit#<account>#<region>
//	version  a counter: a write succeeds only over the version it read
//	parts    how many parts the entries take (one, unless very many)
//	data     the first part: gzip of the entries' JSON
//	entries  how many entries
//	updated  RFC 3339 time of the write
//	ttl      epoch seconds: forgotten after the retention without a run
//
// Entries past DynamoDB's 400 KB item limit go on in items of their own,
// audit#<account>#<region>#<version>#<n>, written before the head that
// names them, so a reader never sees a head without its parts.
//
// A run that fans out gathers its digest's parts under audit#run# too
// (runs.go).
package ledger

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/lambdawatch/lambdawatch/pkg/awsid"
	"github.com/lambdawatch/lambdawatch/pkg/detect"
	"github.com/lambdawatch/lambdawatch/pkg/state"
)

// Prefix starts every key the ledger writes, apart from the monitor's
// and the Slack function's keys: the audit function's role may touch
// only these.
const Prefix = "audit#"

// DefaultRetention is how long a scope is remembered without a run: a
// sweep that stops for longer starts afresh, everything new.
const DefaultRetention = 90 * 24 * time.Hour

// maxPart is the most data one item holds: DynamoDB's 400 KB item limit,
// less room for the key and the other attributes.
const maxPart = 380 << 10

// maxEntries bounds what a read decodes, so that a corrupt or hostile
// item cannot take the function's memory.
const maxEntries = 1 << 20

const (
	attrVersion = "version"
	attrParts   = "parts"
	attrData    = "data"
	attrEntries = "entries"
	attrUpdated = "updated"
)

// ErrConflict is wrapped by Write's error when another run wrote the
// scope since it was read.
var ErrConflict = errors.New("written by another run since it was read")

// API is the part of the DynamoDB client the ledger uses.
type API interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

// Ledger reads and writes what the audit saw, in one table.
type Ledger struct {
	api       API
	table     string
	retention time.Duration
}

// New is a ledger in table; a retention of 0 means DefaultRetention.
func New(api API, table string, retention time.Duration) *Ledger {
	if retention <= 0 {
		retention = DefaultRetention
	}
	return &Ledger{api: api, table: table, retention: retention}
}

// Scope is what one item remembers: an account in a region.
type Scope struct {
	Account string
	Region  string
}

func (s Scope) key() string { return Prefix + escape(s.Account) + "#" + escape(s.Region) }

func (s Scope) partKey(version int64, n int) string {
	return s.key() + "#" + strconv.FormatInt(version, 10) + "#" + strconv.Itoa(n)
}

func (s Scope) String() string { return s.Account + " " + s.Region }

// Entry is one finding as the ledger remembers it.
type Entry struct {
	Fingerprint string    `json:"fingerprint"`
	FirstSeen   time.Time `json:"firstSeen"`
	LastSeen    time.Time `json:"lastSeen"`
	// Alerted: published as an alert of its own; it is not again while
	// it stays open.
	Alerted bool `json:"alerted,omitempty"`
	// Reported: listed in a published digest; until then it is new.
	Reported bool `json:"reported,omitempty"`
	// Resolved is when a run first did not see it; it is kept until a
	// published digest has listed it as resolved.
	Resolved *time.Time `json:"resolved,omitempty"`
	// Finding as last seen: what a resolved finding is reported, and
	// archived in Security Hub, as.
	Finding detect.Finding `json:"finding"`
}

// Book is a scope's entries as read, to be changed and written back.
type Book struct {
	Scope Scope
	// Found: the scope was remembered; false for its first run, or after
	// the retention without one.
	Found   bool
	Entries []Entry
	version int64
	parts   int
}

// Read returns what the last run of scope saw. A scope never written, or
// forgotten, is an empty book with Found false.
func (l *Ledger) Read(ctx context.Context, scope Scope, now time.Time) (Book, error) {
	b := Book{Scope: scope}
	head, err := l.get(ctx, scope.key())
	if err != nil || head == nil {
		return b, err
	}
	if ttl, ok := number(head[state.TTLAttribute]); ok && ttl < now.Unix() {
		return b, nil // expired, not yet deleted by TTL
	}
	b.version, _ = number(head[attrVersion])
	parts, _ := number(head[attrParts])
	b.parts = int(max(parts, 1))
	data, ok := head[attrData].(*types.AttributeValueMemberB)
	if !ok {
		return b, fmt.Errorf("ledger %s: item %s has no %s", scope, scope.key(), attrData)
	}
	stream := slices.Clone(data.Value)
	for n := 1; n < b.parts; n++ {
		item, err := l.get(ctx, scope.partKey(b.version, n))
		if err != nil {
			return b, err
		}
		part, ok := item[attrData].(*types.AttributeValueMemberB)
		if !ok {
			return b, fmt.Errorf("ledger %s: part %d of %d (%s) is missing", scope, n, b.parts, scope.partKey(b.version, n))
		}
		stream = append(stream, part.Value...)
	}
	entries, err := decode(stream)
	if err != nil {
		return b, fmt.Errorf("ledger %s: %s: %w", scope, scope.key(), err)
	}
	b.Found, b.Entries = true, entries
	return b, nil
}

// Write stores b's entries as the scope's, over the version Read gave. It
// fails with an error wrapping ErrConflict when another run wrote the
// scope in between; the caller may read again and redo its comparison.
func (l *Ledger) Write(ctx context.Context, b Book, now time.Time) error {
	stream, err := encode(b.Entries)
	if err != nil {
		return fmt.Errorf("ledger %s: %w", b.Scope, err)
	}
	var chunks [][]byte
	for len(stream) > maxPart {
		chunks, stream = append(chunks, stream[:maxPart]), stream[maxPart:]
	}
	chunks = append(chunks, stream)
	version := b.version + 1
	ttl := num(now.Add(l.retention).Unix())
	// The parts first: a head is never seen without them.
	for n, c := range chunks[1:] {
		if err := l.put(ctx, &dynamodb.PutItemInput{
			TableName: aws.String(l.table),
			Item: map[string]types.AttributeValue{
				state.PartitionKey: str(b.Scope.partKey(version, n+1)), attrData: &types.AttributeValueMemberB{Value: c}, state.TTLAttribute: ttl,
			},
		}); err != nil {
			return fmt.Errorf("ledger %s: part %d: %w", b.Scope, n+1, err)
		}
	}
	in := &dynamodb.PutItemInput{
		TableName: aws.String(l.table),
		Item: map[string]types.AttributeValue{
			state.PartitionKey: str(b.Scope.key()),
			attrVersion:        num(version),
			attrParts:          num(int64(len(chunks))),
			attrData:           &types.AttributeValueMemberB{Value: chunks[0]},
			attrEntries:        num(int64(len(b.Entries))),
			attrUpdated:        str(now.UTC().Format(time.RFC3339)),
			state.TTLAttribute: ttl,
		},
	}
	if b.version > 0 {
		in.ConditionExpression = aws.String("#version = :read")
		in.ExpressionAttributeNames = map[string]string{"#version": attrVersion}
		in.ExpressionAttributeValues = map[string]types.AttributeValue{":read": num(b.version)}
	} else {
		// New, or an item past its ttl that TTL has not deleted yet.
		in.ConditionExpression = aws.String("attribute_not_exists(#pk) OR #ttl < :now")
		in.ExpressionAttributeNames = map[string]string{"#pk": state.PartitionKey, "#ttl": state.TTLAttribute}
		in.ExpressionAttributeValues = map[string]types.AttributeValue{":now": num(now.Unix())}
	}
	if err := l.put(ctx, in); err != nil {
		if _, ok := errors.AsType[*types.ConditionalCheckFailedException](err); ok {
			return fmt.Errorf("ledger %s: %w", b.Scope, ErrConflict)
		}
		return fmt.Errorf("ledger %s: %w", b.Scope, err)
	}
	// The old version's parts are no longer named; TTL would remove them
	// in time, but they cost storage until then.
	for n := 1; n < b.parts; n++ {
		_, _ = l.api.DeleteItem(ctx, &dynamodb.DeleteItemInput{
			TableName: aws.String(l.table),
			Key:       map[string]types.AttributeValue{state.PartitionKey: str(b.Scope.partKey(b.version, n))},
		})
	}
	return nil
}

func (l *Ledger) get(ctx context.Context, key string) (map[string]types.AttributeValue, error) {
	out, err := l.api.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(l.table),
		Key:            map[string]types.AttributeValue{state.PartitionKey: str(key)},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("dynamodb GetItem %s %s: %w", l.table, key, err)
	}
	if len(out.Item) == 0 {
		return nil, nil
	}
	return out.Item, nil
}

func (l *Ledger) put(ctx context.Context, in *dynamodb.PutItemInput) error {
	if _, err := l.api.PutItem(ctx, in); err != nil {
		key := ""
		if k, ok := in.Item[state.PartitionKey].(*types.AttributeValueMemberS); ok {
			key = k.Value
		}
		return fmt.Errorf("dynamodb PutItem %s %s: %w", l.table, key, err)
	}
	return nil
}

func encode(entries []Entry) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, e := range entries {
		if err := enc.Encode(e); err != nil {
			return nil, fmt.Errorf("encode entry %s: %w", e.Fingerprint, err)
		}
	}
	return gzipBytes(buf.Bytes())
}

func gzipBytes(data []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(data); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// maxInflated bounds what one item inflates to.
const maxInflated = 256 << 20

func gunzipBytes(stream []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(stream))
	if err != nil {
		return nil, fmt.Errorf("not gzip: %w", err)
	}
	data, err := io.ReadAll(io.LimitReader(zr, maxInflated+1))
	if err != nil {
		return nil, fmt.Errorf("inflate: %w", err)
	}
	if len(data) > maxInflated {
		return nil, fmt.Errorf("inflates past %d bytes", maxInflated)
	}
	return data, nil
}

func decode(stream []byte) ([]Entry, error) {
	zr, err := gzip.NewReader(bytes.NewReader(stream))
	if err != nil {
		return nil, fmt.Errorf("entries are not gzip: %w", err)
	}
	dec := json.NewDecoder(zr)
	var entries []Entry
	for {
		var e Entry
		err := dec.Decode(&e)
		if errors.Is(err, io.EOF) {
			return entries, nil
		}
		if err != nil {
			return nil, fmt.Errorf("entry %d: %w", len(entries)+1, err)
		}
		if len(entries) == maxEntries {
			return nil, fmt.Errorf("more than %d entries", maxEntries)
		}
		entries = append(entries, e)
	}
}

// Fingerprint names what makes a finding the same finding from one run to
// the next: its rule, account, region and resource, and the statement or
// setting that caused it (the principal granted and the statement's ID,
// the runtime, the layer, the URL). A principal given as an account's
// root ARN is the account. A setting that changes (a runtime moved from
// one end-of-life version to another) is a new finding, and the old one
// is resolved.
func Fingerprint(f detect.Finding) string {
	resource := f.ResourceARN
	if resource == "" {
		resource = f.Resource()
	}
	principal := awsid.Principal(f.Principal)
	h := sha256.New()
	for _, p := range []string{f.Rule, f.Account, f.Region, resource, principal, f.StatementID, f.Runtime, f.Layer, f.FunctionURL} {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

var keyEscaper = strings.NewReplacer("%", "%25", "#", "%23")

func escape(s string) string { return keyEscaper.Replace(s) }

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

func number(v types.AttributeValue) (int64, bool) {
	n, ok := v.(*types.AttributeValueMemberN)
	if !ok {
		return 0, false
	}
	i, err := strconv.ParseInt(n.Value, 10, 64)
	return i, err == nil
}

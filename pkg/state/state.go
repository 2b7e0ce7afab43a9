// Package state records in one DynamoDB table what has been delivered, so
// that an alert goes out once across containers, retries and redeliveries.
//
// # Use
//
//	c, err := store.Claim(ctx, state.PublishedKey(f))
//	switch {
//	case errors.Is(err, state.ErrDelivered):
//		return nil // sent before: nothing to do
//	case errors.Is(err, state.ErrInProgress):
//		return err // another invocation holds it: fail, so it is retried after the lease
//	case err != nil: // wraps ErrUnavailable
//		log.Warn("state unavailable: delivering anyway", "err", err)
//	}
//	if err := publish(ctx, f); err != nil {
//		_ = c.Release(ctx) // a retry may take it at once
//		return err
//	}
//	if err := c.Done(ctx); err != nil {
//		log.Warn("delivered, not recorded", "err", err)
//	}
//
// Every error Claim returns wraps exactly one of ErrDelivered, ErrInProgress
// and ErrUnavailable. ErrUnavailable means the table could not say (it is
// unreachable, throttled, denied, or the key cannot be stored): the caller
// delivers anyway, because a duplicate alert is better than a lost one.
// The Claim that comes back with ErrUnavailable is the zero Claim, whose
// Done and Release do nothing, so the code above needs no other branch.
//
// # The table
//
// Partition key pk (string), no sort key; TTL on the attribute ttl (epoch
// seconds). An item is
//
//	pk      the key
//	status  in_progress | done
//	token   the claim's random token
//	lease   epoch milliseconds: an in_progress claim may be taken over from then
//	ttl     epoch seconds: the item counts as absent from then (retention after done)
//
// Claim is one conditional PutItem that succeeds when the key is absent,
// its ttl has passed, or it is in_progress with a lapsed lease. Done is an
// UpdateItem conditional on the claim's token; Release a DeleteItem
// conditional on the token and in_progress.
//
// # From AWS Lambda Powertools' idempotency utility
//
// Powertools records an INPROGRESS item with a conditional put and marks
// it COMPLETED after the handler. Its users found INPROGRESS items that
// never ended: when a function timed out between the two, every retry met
// IdempotencyAlreadyInProgressError until the record's expiry, hours
// later (powertools-lambda-python #1038). The fix was an
// in_progress_expiration written with each record and tested in the put's
// condition (#1387); a record written without it, when the remaining time
// read as zero near the timeout, was stuck again (#4759), and others asked
// to set that lease themselves rather than have it follow the function's
// timeout (#8049). Powertools also tests the record's own expiry in the
// condition instead of trusting TTL, which deletes items only some time
// after they expire, and reads the item that failed the condition from
// the failed put itself (ReturnValuesOnConditionCheckFailure) rather than
// with a second call. From this, here:
//
//   - every claim carries a lease, always written, of a set length
//     (WithLease, two minutes by default), not derived from the caller's
//     remaining time;
//   - the condition tests the lease and ttl itself, so neither a lapsed
//     claim nor an expired item waits for TTL's deletion;
//   - a failed claim is told apart (done or in progress) from the item the
//     failed PutItem returns;
//   - Done and Release hold the claim's token, so a holder whose lease was
//     taken over cannot mark the new holder's work done or undo it.
package state

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Attribute names of the table; PartitionKey and TTLAttribute are part of
// the table's definition.
const (
	PartitionKey = "pk"
	TTLAttribute = "ttl"
	attrStatus   = "status"
	attrToken    = "token"
	attrLease    = "lease"
	attrClaimed  = "claimed_at"
	attrDone     = "done_at"
)

// LogTookOver is the message the functions log when a claim takes over
// from a delivery that stopped holding it: that one may have delivered,
// and this one delivers again.
const LogTookOver = "claim taken over from a delivery that stopped"

// LogUnavailable is the message the functions log when the table cannot
// say whether a finding was delivered, or cannot record that it was: the
// stack's alarm counts these lines.
const LogUnavailable = "delivery state unavailable"

// Statuses an item has.
const (
	StatusInProgress = "in_progress"
	StatusDone       = "done"
)

// Defaults.
const (
	// DefaultLease is how long a claim holds its key before another may
	// take it: long enough to publish, short enough that a function that
	// timed out holding it is retried soon.
	DefaultLease = 2 * time.Minute
	// DefaultRetention is how long a delivered key is remembered: longer
	// than EventBridge (24 hours) and Lambda's asynchronous retries (6
	// hours) keep redelivering an event.
	DefaultRetention = 7 * 24 * time.Hour
)

// MaxKey is the longest key Claim accepts: DynamoDB's limit for a
// partition key value.
const MaxKey = 2048

// Errors Claim's errors wrap; see the package doc for what each asks of
// the caller.
var (
	// ErrDelivered: the key was marked done; do not deliver again.
	ErrDelivered = errors.New("already delivered")
	// ErrInProgress: another claim holds the key and its lease has not
	// lapsed; try again after the lease.
	ErrInProgress = errors.New("claimed by another delivery in progress")
	// ErrUnavailable: the table could not say; deliver anyway and log.
	ErrUnavailable = errors.New("delivery state unavailable")
	// ErrLost is wrapped by Done's and Release's error when the claim is
	// no longer held: its lease lapsed and another took it, or its item
	// expired.
	ErrLost = errors.New("claim no longer held")
)

// API is the part of the DynamoDB client the store uses.
type API interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
}

// Store claims keys in one table. A nil *Store claims every key at once
// and records nothing: delivery without deduplication.
type Store struct {
	api       API
	table     string
	lease     time.Duration
	retention time.Duration
	now       func() time.Time
}

// Option sets a Store's behaviour.
type Option func(*Store)

// WithLease sets how long a claim holds its key (DefaultLease).
func WithLease(d time.Duration) Option {
	return func(s *Store) {
		if d > 0 {
			s.lease = d
		}
	}
}

// WithRetention sets how long a delivered key is remembered
// (DefaultRetention).
func WithRetention(d time.Duration) Option {
	return func(s *Store) {
		if d > 0 {
			s.retention = d
		}
	}
}

// WithClock sets the clock leases and expiries are read from (time.Now).
// The table compares times the clients write, so clients must agree on
// the time to within much less than a lease.
func WithClock(now func() time.Time) Option {
	return func(s *Store) {
		if now != nil {
			s.now = now
		}
	}
}

// New is a store over the table.
func New(api API, table string, opts ...Option) *Store {
	s := &Store{api: api, table: table, lease: DefaultLease, retention: DefaultRetention, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Claim is a held key. The zero Claim holds nothing; its Done and Release
// do nothing and return nil.
type Claim struct {
	store    *Store
	key      string
	token    string
	until    time.Time
	tookOver bool
}

// TookOver reports whether the claim took the key over from an earlier
// claim whose lease had lapsed: a delivery that stopped, which may or may
// not have delivered.
func (c Claim) TookOver() bool { return c.tookOver }

// Key is the claimed key; empty for the zero Claim.
func (c Claim) Key() string { return c.key }

// LeaseUntil is when another claim may take the key over if this one is
// not done.
func (c Claim) LeaseUntil() time.Time { return c.until }

// Claim takes key for one delivery. It fails with ErrDelivered when the
// key was delivered, ErrInProgress when another claim's lease on it runs,
// and ErrUnavailable when the table cannot say.
func (s *Store) Claim(ctx context.Context, key string) (Claim, error) {
	if s == nil {
		return Claim{}, nil
	}
	if key == "" || len(key) > MaxKey {
		return Claim{}, fmt.Errorf("state claim: key of %d bytes, want 1 to %d: %w", len(key), MaxKey, ErrUnavailable)
	}
	token, err := newToken()
	if err != nil {
		return Claim{}, fmt.Errorf("state claim %s: %v: %w", key, err, ErrUnavailable)
	}
	now := s.now()
	until := now.Add(s.lease)
	out, err := s.api.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.table),
		Item: map[string]types.AttributeValue{
			PartitionKey: str(key),
			attrStatus:   str(StatusInProgress),
			attrToken:    str(token),
			attrLease:    num(until.UnixMilli()),
			attrClaimed:  str(now.UTC().Format(time.RFC3339Nano)),
			TTLAttribute: num(now.Add(s.retention).Unix()),
		},
		ConditionExpression: aws.String("attribute_not_exists(#pk) OR #ttl < :nowSec OR (#status = :inProgress AND #lease < :nowMs)"),
		ExpressionAttributeNames: map[string]string{
			"#pk": PartitionKey, "#ttl": TTLAttribute, "#status": attrStatus, "#lease": attrLease,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":nowSec":     num(now.Unix()),
			":nowMs":      num(now.UnixMilli()),
			":inProgress": str(StatusInProgress),
		},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		ReturnValues:                        types.ReturnValueAllOld,
	})
	if err == nil {
		c := Claim{store: s, key: key, token: token, until: until}
		if old, ok := out.Attributes[attrStatus].(*types.AttributeValueMemberS); ok && old.Value == StatusInProgress {
			c.tookOver = true
		}
		return c, nil
	}
	var failed *types.ConditionalCheckFailedException
	if !errors.As(err, &failed) {
		return Claim{}, fmt.Errorf("state claim %s: dynamodb PutItem %s: %w: %w", key, s.table, err, ErrUnavailable)
	}
	if status, ok := failed.Item[attrStatus].(*types.AttributeValueMemberS); ok && status.Value == StatusDone {
		return Claim{}, fmt.Errorf("state claim %s: %w", key, ErrDelivered)
	}
	// In progress, or an item the failed put did not return: either way
	// someone holds it, and waiting out the lease loses nothing.
	held := ""
	if lease, ok := failed.Item[attrLease].(*types.AttributeValueMemberN); ok {
		if ms, perr := strconv.ParseInt(lease.Value, 10, 64); perr == nil {
			held = " until " + time.UnixMilli(ms).UTC().Format(time.RFC3339)
		}
	}
	return Claim{}, fmt.Errorf("state claim %s: %w%s", key, ErrInProgress, held)
}

// Done marks the claimed key delivered, for the store's retention. It
// fails with an error wrapping ErrLost when the claim is no longer held,
// and ErrUnavailable when the table cannot be reached. Done again after
// Done succeeds.
func (c Claim) Done(ctx context.Context) error {
	if c.store == nil {
		return nil
	}
	s := c.store
	now := s.now()
	_, err := s.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           aws.String(s.table),
		Key:                 map[string]types.AttributeValue{PartitionKey: str(c.key)},
		UpdateExpression:    aws.String("SET #status = :done, #doneAt = :doneAt, #ttl = :ttl REMOVE #lease"),
		ConditionExpression: aws.String("attribute_exists(#pk) AND #token = :token"),
		ExpressionAttributeNames: map[string]string{
			"#pk": PartitionKey, "#status": attrStatus, "#doneAt": attrDone, "#ttl": TTLAttribute,
			"#lease": attrLease, "#token": attrToken,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":done":   str(StatusDone),
			":doneAt": str(now.UTC().Format(time.RFC3339Nano)),
			":ttl":    num(now.Add(s.retention).Unix()),
			":token":  str(c.token),
		},
	})
	return c.result("done", "UpdateItem", err)
}

// Release gives the key up without marking it delivered, so that a retry
// can claim it at once instead of after the lease. It fails with ErrLost
// when the claim is no longer held.
func (c Claim) Release(ctx context.Context) error {
	if c.store == nil {
		return nil
	}
	s := c.store
	_, err := s.api.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                aws.String(s.table),
		Key:                      map[string]types.AttributeValue{PartitionKey: str(c.key)},
		ConditionExpression:      aws.String("#token = :token AND #status = :inProgress"),
		ExpressionAttributeNames: map[string]string{"#token": attrToken, "#status": attrStatus},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":token":      str(c.token),
			":inProgress": str(StatusInProgress),
		},
	})
	return c.result("release", "DeleteItem", err)
}

func (c Claim) result(what, call string, err error) error {
	if err == nil {
		return nil
	}
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		return fmt.Errorf("state %s %s: %w", what, c.key, ErrLost)
	}
	return fmt.Errorf("state %s %s: dynamodb %s %s: %w: %w", what, c.key, call, c.store.table, err, ErrUnavailable)
}

func newToken() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

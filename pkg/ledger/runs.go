package ledger

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/lambdawatch/lambdawatch/pkg/state"
)

// A run that fans out gathers its parts under the ledger's prefix:
//
//	audit#run#<run>          arrived: the string set of the parts stored
//	audit#run#<run>#<part>   data: gzip of the part
//
// so that the invocation whose part arrives last sends one digest for the
// whole run. These items expire with the ledger's retention too.
const runPrefix = Prefix + "run#"

func runKey(run string) string { return runPrefix + escape(run) }

func partKey(run, part string) string { return runKey(run) + "#" + escape(part) }

const attrArrived = "arrived"

// PutPart stores one part of a run.
func (l *Ledger) PutPart(ctx context.Context, run, part string, data []byte, now time.Time) error {
	stream, err := gzipBytes(data)
	if err != nil {
		return fmt.Errorf("ledger run %s part %s: %w", run, part, err)
	}
	err = l.put(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(l.table),
		Item: map[string]types.AttributeValue{
			state.PartitionKey: str(partKey(run, part)), attrData: &types.AttributeValueMemberB{Value: stream},
			state.TTLAttribute: num(now.Add(l.retention).Unix()),
		},
	})
	if err != nil {
		return fmt.Errorf("ledger run %s part %s: %w", run, part, err)
	}
	return nil
}

// Part reads one part of a run; ok is false when it was never stored.
func (l *Ledger) Part(ctx context.Context, run, part string) (data []byte, ok bool, err error) {
	item, err := l.get(ctx, partKey(run, part))
	if err != nil || item == nil {
		return nil, false, err
	}
	b, isB := item[attrData].(*types.AttributeValueMemberB)
	if !isB {
		return nil, false, fmt.Errorf("ledger run %s part %s: no %s", run, part, attrData)
	}
	data, err = gunzipBytes(b.Value)
	if err != nil {
		return nil, false, fmt.Errorf("ledger run %s part %s: %w", run, part, err)
	}
	return data, true, nil
}

// Arrive records that part is stored, and returns the parts stored so
// far, sorted. Arriving twice counts once.
func (l *Ledger) Arrive(ctx context.Context, run, part string, now time.Time) ([]string, error) {
	out, err := l.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(l.table),
		Key:                       map[string]types.AttributeValue{state.PartitionKey: str(runKey(run))},
		UpdateExpression:          aws.String("ADD #arrived :part SET #ttl = :ttl"),
		ExpressionAttributeNames:  map[string]string{"#arrived": attrArrived, "#ttl": state.TTLAttribute},
		ExpressionAttributeValues: map[string]types.AttributeValue{":part": &types.AttributeValueMemberSS{Value: []string{part}}, ":ttl": num(now.Add(l.retention).Unix())},
		ReturnValues:              types.ReturnValueAllNew,
	})
	if err != nil {
		return nil, fmt.Errorf("ledger run %s part %s: dynamodb UpdateItem %s: %w", run, part, l.table, err)
	}
	set, ok := out.Attributes[attrArrived].(*types.AttributeValueMemberSS)
	if !ok {
		return nil, fmt.Errorf("ledger run %s: UpdateItem returned no %s", run, attrArrived)
	}
	parts := slices.Clone(set.Value)
	slices.Sort(parts)
	return parts, nil
}

// DigestKey is the state key under which a run's one digest is claimed.
func DigestKey(run string) string { return runKey(run) + "#digest" }

// Run names a fanned-out run: its ID, how many parts it has, and when it
// started.
type Run struct {
	ID      string
	Of      int
	Started time.Time
}

const (
	latestKey   = runPrefix + "latest"
	attrRun     = "run"
	attrOf      = "of"
	attrStarted = "started"
)

// Begin records r as the latest run and returns the one before it, if
// any, so that a run whose digest never completed can be closed.
func (l *Ledger) Begin(ctx context.Context, r Run, now time.Time) (prev Run, ok bool, err error) {
	out, err := l.api.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(l.table),
		Item: map[string]types.AttributeValue{
			state.PartitionKey: str(latestKey), attrRun: str(r.ID), attrOf: num(int64(r.Of)),
			attrStarted: str(r.Started.UTC().Format(time.RFC3339Nano)), state.TTLAttribute: num(now.Add(l.retention).Unix()),
		},
		ReturnValues: types.ReturnValueAllOld,
	})
	if err != nil {
		return Run{}, false, fmt.Errorf("ledger run %s: dynamodb PutItem %s %s: %w", r.ID, l.table, latestKey, err)
	}
	id, okID := out.Attributes[attrRun].(*types.AttributeValueMemberS)
	if !okID {
		return Run{}, false, nil
	}
	prev.ID = id.Value
	if n, ok := number(out.Attributes[attrOf]); ok {
		prev.Of = int(n)
	}
	if s, ok := out.Attributes[attrStarted].(*types.AttributeValueMemberS); ok {
		prev.Started, _ = time.Parse(time.RFC3339Nano, s.Value)
	}
	return prev, true, nil
}

// Arrivals are the parts of run stored so far, sorted.
func (l *Ledger) Arrivals(ctx context.Context, run string) ([]string, error) {
	item, err := l.get(ctx, runKey(run))
	if err != nil {
		return nil, fmt.Errorf("ledger run %s: %w", run, err)
	}
	set, _ := item[attrArrived].(*types.AttributeValueMemberSS)
	if set == nil {
		return nil, nil
	}
	parts := slices.Clone(set.Value)
	slices.Sort(parts)
	return parts, nil
}

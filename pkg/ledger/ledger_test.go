package ledger_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/lambdawatch/lambdawatch/internal/motostate"
	"github.com/lambdawatch/lambdawatch/pkg/detect"
	"github.com/lambdawatch/lambdawatch/pkg/ledger"
)

var t0 = time.Date(2026, 11, 30, 6, 0, 0, 0, time.UTC)

func grant(fn, principal string) detect.Finding {
	return detect.Finding{
		Rule: "public-invoke", Severity: detect.Critical, Account: "111122223333", Region: "us-east-1",
		ResourceARN: "arn:aws:lambda:us-east-1:111122223333:function:" + fn, ResourceType: detect.TypeFunction,
		Function: fn, Principal: principal, StatementID: "s1", Summary: fn + " invocable by " + principal,
	}
}

// TestLedger runs the ledger against moto's DynamoDB.
//
// testRuns runs three audits of one scope through moto's DynamoDB:
// everything is new at first, then what stays is open, what went is
// resolved, what could not be read is neither, and alerted is kept.
func TestLedger(t *testing.T) {
	_, db := motostate.StartStateTable(t)
	t.Run("three runs", func(t *testing.T) { testRuns(t, db) })
	t.Run("conflict", func(t *testing.T) { testConflict(t, db) })
	t.Run("large", func(t *testing.T) { testLarge(t, db) })
	t.Run("bad item", func(t *testing.T) { testBadItem(t, db) })
	t.Run("expired", func(t *testing.T) { testExpired(t, db) })
}

func testRuns(t *testing.T, db *dynamodb.Client) {
	l := ledger.New(db, motostate.StateTableName, 0)
	scope := ledger.Scope{Account: "111122223333", Region: "us-east-1"}
	ctx := t.Context()

	b, err := l.Read(ctx, scope, t0)
	if err != nil || b.Found || len(b.Entries) != 0 {
		t.Fatalf("first read: %+v, %v; want nothing remembered", b, err)
	}
	c := b.Compare([]detect.Finding{grant("a", "*"), grant("b", "*"), grant("c", "*")}, t0, nil)
	if len(c.New) != 3 || len(c.Open)+len(c.Resolved)+len(c.Unchecked) != 0 {
		t.Fatalf("first run: %s, want 3 new", counts(c))
	}
	b.MarkAlerted(c.New[0].Fingerprint)
	b.Reported()
	if err := l.Write(ctx, b, t0); err != nil {
		t.Fatal(err)
	}

	t1 := t0.Add(24 * time.Hour)
	b, err = l.Read(ctx, scope, t1)
	if err != nil || !b.Found || len(b.Entries) != 3 {
		t.Fatalf("second read: %d entries, found %v, %v", len(b.Entries), b.Found, err)
	}
	// a stays, b is gone, c could not be read, d is new; a's principal
	// written as the root ARN of the account is the same grant.
	a := grant("a", "*")
	d := grant("d", "arn:aws:iam::444455556666:root")
	unread := func(f detect.Finding) bool { return f.Function == "c" }
	c = b.Compare([]detect.Finding{a, d, a}, t1, unread)
	if got := counts(c); got != "1 new, 1 open, 1 resolved, 1 unchecked" {
		t.Fatalf("second run: %s", got)
	}
	if c.Open[0].Finding.Function != "a" || !c.Open[0].FirstSeen.Equal(t0) || !c.Open[0].LastSeen.Equal(t1) || !c.Open[0].Alerted {
		t.Errorf("open entry %+v: want a, first seen %s, last %s, alerted", c.Open[0], t0, t1)
	}
	if c.Resolved[0].Finding.Function != "b" || c.Unchecked[0].Finding.Function != "c" || c.New[0].Finding.Function != "d" {
		t.Errorf("resolved %s, unchecked %s, new %s; want b, c, d", c.Resolved[0].Finding.Function, c.Unchecked[0].Finding.Function, c.New[0].Finding.Function)
	}
	// The digest of this run was not published: written without
	// Reported, the next run tells the same news again.
	if err := l.Write(ctx, b, t1); err != nil {
		t.Fatal(err)
	}
	b, err = l.Read(ctx, scope, t1)
	if err != nil {
		t.Fatal(err)
	}
	c = b.Compare([]detect.Finding{a, d}, t1, unread)
	if got := counts(c); got != "1 new, 1 open, 1 resolved, 1 unchecked" {
		t.Fatalf("the run after an unpublished digest: %s", got)
	}
	b.Reported()
	if err := l.Write(ctx, b, t1); err != nil {
		t.Fatal(err)
	}

	t2 := t1.Add(24 * time.Hour)
	b, err = l.Read(ctx, scope, t2)
	if err != nil {
		t.Fatal(err)
	}
	d.Principal = "444455556666"
	c = b.Compare([]detect.Finding{a, d}, t2, nil)
	if got := counts(c); got != "0 new, 2 open, 1 resolved, 0 unchecked" || c.Resolved[0].Finding.Function != "c" {
		t.Errorf("third run: %s, resolved %v; want c resolved once it could be read", got, c.Resolved)
	}
}

func counts(c ledger.Change) string {
	return fmt.Sprintf("%d new, %d open, %d resolved, %d unchecked", len(c.New), len(c.Open), len(c.Resolved), len(c.Unchecked))
}

// testConflict: a run that read before another wrote cannot
// overwrite it; it reads again.
func testConflict(t *testing.T, db *dynamodb.Client) {
	l := ledger.New(db, motostate.StateTableName, 0)
	scope := ledger.Scope{Account: "111122223333", Region: "eu-west-1"}
	ctx := t.Context()
	for _, name := range []string{"first write", "later write"} {
		one, err := l.Read(ctx, scope, t0)
		if err != nil {
			t.Fatal(err)
		}
		two, err := l.Read(ctx, scope, t0)
		if err != nil {
			t.Fatal(err)
		}
		one.Compare([]detect.Finding{grant("a", "*")}, t0, nil)
		two.Compare([]detect.Finding{grant("b", "*")}, t0, nil)
		if err := l.Write(ctx, one, t0); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := l.Write(ctx, two, t0); !errors.Is(err, ledger.ErrConflict) {
			t.Fatalf("%s: the stale write: %v, want ErrConflict", name, err)
		}
	}
}

// testLarge: entries past one item's 400 KB go on in parts, and
// read back whole; a rewrite with fewer drops the old parts.
func testLarge(t *testing.T, db *dynamodb.Client) {
	l := ledger.New(db, motostate.StateTableName, 0)
	scope := ledger.Scope{Account: "111122223333", Region: "us-west-2"}
	ctx := t.Context()
	rng := rand.New(rand.NewPCG(1, 2))
	var many []detect.Finding
	for i := range 3000 {
		f := grant(fmt.Sprintf("fn-%d", i), "*")
		// Text that does not compress, as many distinct policies would not.
		var words strings.Builder
		for range 30 {
			fmt.Fprintf(&words, "%016x", rng.Uint64())
		}
		f.Summary = words.String()
		many = append(many, f)
	}
	b, _ := l.Read(ctx, scope, t0)
	b.Compare(many, t0, nil)
	if err := l.Write(ctx, b, t0); err != nil {
		t.Fatal(err)
	}
	back, err := l.Read(ctx, scope, t0)
	if err != nil || len(back.Entries) != len(many) {
		t.Fatalf("read back %d entries, %v; want %d", len(back.Entries), err, len(many))
	}
	items := func() int {
		out, err := db.Scan(ctx, &dynamodb.ScanInput{
			TableName:                 aws.String(motostate.StateTableName),
			FilterExpression:          aws.String("begins_with(pk, :scope)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":scope": &types.AttributeValueMemberS{Value: "audit#111122223333#us-west-2"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		return len(out.Items)
	}
	if n := items(); n < 3 {
		t.Fatalf("%d items for %d large entries, want the entries split over several", n, len(many))
	}
	c := back.Compare(many[:1], t0.Add(time.Hour), nil)
	if len(c.Resolved) != len(many)-1 {
		t.Errorf("%d resolved, want %d", len(c.Resolved), len(many)-1)
	}
	back.Reported()
	if err := l.Write(ctx, back, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n := items(); n != 1 {
		t.Errorf("%d items after rewriting one entry, want the head alone", n)
	}
}

// testBadItem: an item that is not the ledger's is an error naming
// it, not an empty memory (which would make everything new again).
func testBadItem(t *testing.T, db *dynamodb.Client) {
	l := ledger.New(db, motostate.StateTableName, 0)
	ctx := t.Context()
	for _, tc := range []struct {
		name  string
		item  map[string]types.AttributeValue
		want  string
		scope ledger.Scope
	}{
		{"no data", map[string]types.AttributeValue{"version": &types.AttributeValueMemberN{Value: "1"}}, "has no data", ledger.Scope{Account: "1", Region: "a"}},
		{"not gzip", map[string]types.AttributeValue{"version": &types.AttributeValueMemberN{Value: "1"}, "data": &types.AttributeValueMemberB{Value: []byte("{}")}}, "not gzip", ledger.Scope{Account: "1", Region: "b"}},
		{"missing part", map[string]types.AttributeValue{"version": &types.AttributeValueMemberN{Value: "1"}, "parts": &types.AttributeValueMemberN{Value: "2"}, "data": &types.AttributeValueMemberB{Value: []byte{0x1f, 0x8b}}}, "part 1 of 2", ledger.Scope{Account: "1", Region: "c"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.item["pk"] = &types.AttributeValueMemberS{Value: "audit#" + tc.scope.Account + "#" + tc.scope.Region}
			if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(motostate.StateTableName), Item: tc.item}); err != nil {
				t.Fatal(err)
			}
			_, err := l.Read(ctx, tc.scope, t0)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.scope.String()) {
				t.Errorf("read: %v; want an error naming the scope and %q", err, tc.want)
			}
		})
	}
}

// testExpired: a scope not audited within the retention is
// forgotten even before TTL deletes its item, and can be written again.
func testExpired(t *testing.T, db *dynamodb.Client) {
	l := ledger.New(db, motostate.StateTableName, 48*time.Hour)
	scope := ledger.Scope{Account: "111122223333", Region: "ap-south-1"}
	ctx := t.Context()
	b, _ := l.Read(ctx, scope, t0)
	b.Compare([]detect.Finding{grant("a", "*")}, t0, nil)
	if err := l.Write(ctx, b, t0); err != nil {
		t.Fatal(err)
	}
	late := t0.Add(72 * time.Hour)
	b, err := l.Read(ctx, scope, late)
	if err != nil || b.Found {
		t.Fatalf("read after the retention: found %v, %v", b.Found, err)
	}
	if c := b.Compare([]detect.Finding{grant("a", "*")}, late, nil); len(c.New) != 1 {
		t.Errorf("%s, want the finding new again", counts(c))
	}
	if err := l.Write(ctx, b, late); err != nil {
		t.Errorf("write over the expired item: %v", err)
	}
}

func TestFingerprint(t *testing.T) {
	base := grant("a", "arn:aws:iam::444455556666:root")
	same := base
	same.Principal = "444455556666"
	same.Summary, same.Severity, same.Conditions = "other words", detect.High, []string{"aws:SourceAccount"}
	if ledger.Fingerprint(base) != ledger.Fingerprint(same) {
		t.Error("the same grant, worded or judged differently, has another fingerprint")
	}
	for name, change := range map[string]func(*detect.Finding){
		"rule":      func(f *detect.Finding) { f.Rule = "cross-account-invoke" },
		"resource":  func(f *detect.Finding) { f.ResourceARN += ":prod" },
		"statement": func(f *detect.Finding) { f.StatementID = "s2" },
		"principal": func(f *detect.Finding) { f.Principal = "*" },
		"runtime":   func(f *detect.Finding) { f.Runtime = "python3.8" },
		"region":    func(f *detect.Finding) { f.Region = "us-west-2" },
		"boundary":  func(f *detect.Finding) { f.StatementID, f.Runtime = "", "s1" },
	} {
		f := base
		change(&f)
		if ledger.Fingerprint(f) == ledger.Fingerprint(base) {
			t.Errorf("a change of %s keeps the fingerprint", name)
		}
	}
}

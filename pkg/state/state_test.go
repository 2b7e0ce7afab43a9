package state_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/lambdawatch/lambdawatch/internal/motostate"
	"github.com/lambdawatch/lambdawatch/pkg/state"
)

// client is a DynamoDB client of its own on endpoint, as another
// container would have.
func client(endpoint string, attempts int) *dynamodb.Client {
	return motostate.DynamoDB(endpoint, attempts)
}

// createTable makes the table as the stack defines it.
func createTable(t *testing.T, db *dynamodb.Client, name string) {
	t.Helper()
	motostate.CreateStateTable(t, db, name)
}

// clock is a settable time for a store: two stores with clocks apart
// stand for an invocation that outlived its lease.
type clock struct{ t atomic.Int64 }

func newClock(t time.Time) *clock { c := &clock{}; c.set(t); return c }
func (c *clock) set(t time.Time)  { c.t.Store(t.UnixNano()) }
func (c *clock) now() time.Time   { return time.Unix(0, c.t.Load()) }
func (c *clock) add(d time.Duration) {
	c.t.Add(int64(d))
}

func item(t *testing.T, db *dynamodb.Client, table, key string) map[string]types.AttributeValue {
	t.Helper()
	out, err := db.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName:      aws.String(table),
		Key:            map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: key}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	return out.Item
}

func attrS(av types.AttributeValue) string {
	if s, ok := av.(*types.AttributeValueMemberS); ok {
		return s.Value
	}
	return fmt.Sprintf("<%T>", av)
}

func attrN(t *testing.T, av types.AttributeValue) int64 {
	t.Helper()
	n, ok := av.(*types.AttributeValueMemberN)
	if !ok {
		t.Fatalf("attribute %T, want a number", av)
	}
	v, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: err = %v, want %v", what, err, want)
	}
	for _, other := range []error{state.ErrDelivered, state.ErrInProgress, state.ErrUnavailable, state.ErrLost} {
		if other != want && errors.Is(err, other) {
			t.Fatalf("%s: err = %v wraps %v as well as %v", what, err, other, want)
		}
	}
}

func TestClaimAgainstMoto(t *testing.T) {
	endpoint := motostate.Start(t)
	const table = "lambdawatch-state"
	createTable(t, client(endpoint, 0), table)
	ctx := context.Background()
	t0 := time.Now().Truncate(time.Second)

	t.Run("first claim wins; a second client is refused while in progress and after done", func(t *testing.T) {
		c1, c2 := newClock(t0), newClock(t0)
		a := state.New(client(endpoint, 0), table, state.WithClock(c1.now))
		b := state.New(client(endpoint, 0), table, state.WithClock(c2.now))
		key := "published#ev-1#public-invoke#arn:aws:lambda:eu-west-1:111122223333:function:pay#*"

		claim, err := a.Claim(ctx, key)
		if err != nil {
			t.Fatalf("first claim: %v", err)
		}
		if claim.Key() != key || !claim.LeaseUntil().Equal(t0.Add(state.DefaultLease)) {
			t.Errorf("claim %q until %s", claim.Key(), claim.LeaseUntil())
		}
		got := item(t, client(endpoint, 0), table, key)
		if attrS(got["status"]) != state.StatusInProgress {
			t.Errorf("status %s, want in_progress", attrS(got["status"]))
		}
		if ttl := attrN(t, got["ttl"]); ttl != t0.Add(state.DefaultRetention).Unix() {
			t.Errorf("ttl %d, want epoch seconds %d", ttl, t0.Add(state.DefaultRetention).Unix())
		}

		c2.add(time.Minute) // within the lease
		_, err = b.Claim(ctx, key)
		wantErr(t, "second claim in progress", err, state.ErrInProgress)

		if err := claim.Done(ctx); err != nil {
			t.Fatalf("done: %v", err)
		}
		if err := claim.Done(ctx); err != nil {
			t.Fatalf("done again: %v", err)
		}
		got = item(t, client(endpoint, 0), table, key)
		if attrS(got["status"]) != state.StatusDone || got["lease"] != nil {
			t.Errorf("after done: status %s, lease %v", attrS(got["status"]), got["lease"])
		}
		c2.add(time.Hour) // long after any lease
		_, err = b.Claim(ctx, key)
		wantErr(t, "claim after done", err, state.ErrDelivered)
		_, err = a.Claim(ctx, key)
		wantErr(t, "the first client again", err, state.ErrDelivered)
	})

	t.Run("a lapsed lease is taken over, and the first holder can no longer finish", func(t *testing.T) {
		c1, c2 := newClock(t0), newClock(t0)
		a := state.New(client(endpoint, 0), table, state.WithClock(c1.now), state.WithLease(2*time.Minute))
		b := state.New(client(endpoint, 0), table, state.WithClock(c2.now))
		key := "published#ev-2#cross-account-invoke#arn:aws:lambda:eu-west-1:111122223333:function:pay#444455556666"

		first, err := a.Claim(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		c2.add(2*time.Minute - time.Second)
		_, err = b.Claim(ctx, key)
		wantErr(t, "a second before the lease lapses", err, state.ErrInProgress)

		c2.add(2 * time.Second) // the first invocation timed out holding it
		second, err := b.Claim(ctx, key)
		if err != nil {
			t.Fatalf("claim after the lease: %v", err)
		}
		if first.TookOver() || !second.TookOver() {
			t.Errorf("took over: first %v, second %v; want the second alone", first.TookOver(), second.TookOver())
		}
		wantErr(t, "done by the first holder", first.Done(ctx), state.ErrLost)
		wantErr(t, "release by the first holder", first.Release(ctx), state.ErrLost)
		if attrS(item(t, client(endpoint, 0), table, key)["status"]) != state.StatusInProgress {
			t.Fatal("the first holder changed the second's claim")
		}
		if err := second.Done(ctx); err != nil {
			t.Fatalf("done by the second holder: %v", err)
		}
		_, err = a.Claim(ctx, key)
		wantErr(t, "claim after the second is done", err, state.ErrDelivered)
	})

	t.Run("a released claim is taken at once", func(t *testing.T) {
		c := newClock(t0)
		a := state.New(client(endpoint, 0), table, state.WithClock(c.now))
		b := state.New(client(endpoint, 0), table, state.WithClock(c.now))
		key := "posted#ev-3#public-layer#arn:aws:lambda:eu-west-1:111122223333:layer:tools:3#*"
		first, err := a.Claim(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if err := first.Release(ctx); err != nil {
			t.Fatalf("release: %v", err)
		}
		second, err := b.Claim(ctx, key)
		if err != nil {
			t.Fatalf("claim after release: %v", err)
		}
		if second.TookOver() {
			t.Error("a claim after a release counts as a takeover")
		}
		wantErr(t, "done after releasing", first.Done(ctx), state.ErrLost)
		if err := second.Done(ctx); err != nil {
			t.Fatal(err)
		}
		wantErr(t, "release after done", second.Release(ctx), state.ErrLost)
	})

	t.Run("a delivered key is forgotten after the retention, before TTL deletes it", func(t *testing.T) {
		c := newClock(t0)
		s := state.New(client(endpoint, 0), table, state.WithClock(c.now), state.WithRetention(time.Hour))
		key := "published#ev-4#eol-runtime#arn:aws:lambda:eu-west-1:111122223333:function:old#"
		claim, err := s.Claim(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if err := claim.Done(ctx); err != nil {
			t.Fatal(err)
		}
		c.add(59 * time.Minute)
		_, err = s.Claim(ctx, key)
		wantErr(t, "within the retention", err, state.ErrDelivered)
		c.add(2 * time.Minute)
		if _, err := s.Claim(ctx, key); err != nil {
			t.Fatalf("after the retention: %v", err)
		}
	})

	t.Run("a key the table cannot store is unavailable, not lost", func(t *testing.T) {
		s := state.New(client(endpoint, 0), table)
		for _, key := range []string{"", string(make([]byte, state.MaxKey+1))} {
			c, err := s.Claim(ctx, key)
			wantErr(t, fmt.Sprintf("key of %d bytes", len(key)), err, state.ErrUnavailable)
			if c.Done(ctx) != nil || c.Release(ctx) != nil {
				t.Error("the zero claim's Done or Release failed")
			}
		}
	})

	t.Run("a missing table is unavailable", func(t *testing.T) {
		s := state.New(client(endpoint, 1), "no-such-table")
		_, err := s.Claim(ctx, "published#ev-5#x#y#z")
		wantErr(t, "missing table", err, state.ErrUnavailable)
	})
}

func TestNilStoreDeliversEverything(t *testing.T) {
	var s *state.Store
	c, err := s.Claim(context.Background(), "published#ev#rule#res#")
	if err != nil || c.Key() != "" {
		t.Fatalf("nil store: %q, %v", c.Key(), err)
	}
	if err := c.Done(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestUnavailable: a table that cannot be reached, throttles or denies
// gives ErrUnavailable (deliver anyway), never ErrDelivered or
// ErrInProgress (which would drop the alert).
func TestUnavailable(t *testing.T) {
	ctx := context.Background()

	t.Run("closed port", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		s := state.New(client("http://"+addr, 1), "lambdawatch-state")
		_, err = s.Claim(ctx, "published#ev#rule#res#")
		wantErr(t, "closed port", err, state.ErrUnavailable)
	})

	endpoint := motostate.Start(t)
	const table = "lambdawatch-state"
	createTable(t, client(endpoint, 0), table)
	target, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	// A proxy in front of moto that passes calls through, or answers as
	// DynamoDB does when it throttles or denies.
	var mode atomic.Value
	mode.Store("")
	var refused atomic.Int64
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code, _ := mode.Load().(string)
		if code == "" {
			proxy.ServeHTTP(w, r)
			return
		}
		refused.Add(1)
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.Header().Set("X-Amzn-ErrorType", code)
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"__type":"com.amazonaws.dynamodb.v20120810#%s","message":"refused by the test proxy"}`, code)
	}))
	defer srv.Close()

	s := state.New(client(srv.URL, 2), table)
	claim, err := s.Claim(ctx, "published#ev-p#rule#res#")
	if err != nil {
		t.Fatalf("through the proxy, passing: %v", err)
	}
	for _, code := range []string{"ThrottlingException", "ProvisionedThroughputExceededException", "AccessDeniedException"} {
		t.Run(code, func(t *testing.T) {
			mode.Store(code)
			defer mode.Store("")
			before := refused.Load()
			_, err := s.Claim(ctx, "published#ev-q#rule#res#")
			wantErr(t, "claim", err, state.ErrUnavailable)
			wantErr(t, "done", claim.Done(ctx), state.ErrUnavailable)
			if refused.Load() == before {
				t.Fatal("the proxy refused nothing")
			}
		})
	}
	if err := claim.Done(ctx); err != nil {
		t.Fatalf("done once the table answers again: %v", err)
	}
}

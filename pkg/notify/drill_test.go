package notify

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/lambdawatch/lambdawatch/pkg/detect"
)

// snsFault is an httptest SNS (query protocol) that answers each Publish
// by script: an error code with its HTTP status, or success. It keeps the
// messages it accepted.
type snsFault struct {
	script func(n int) (status int, code string) // status 0: accept

	mu       sync.Mutex
	calls    int
	accepted []string
}

func (s *snsFault) start(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, err := url.ParseQuery(string(body))
		if err != nil || form.Get("Action") != "Publish" {
			t.Errorf("request %s is not a Publish", body)
		}
		s.mu.Lock()
		s.calls++
		n := s.calls
		s.mu.Unlock()
		w.Header().Set("Content-Type", "text/xml")
		if status, code := s.script(n); status != 0 {
			kind := "Sender"
			if status >= 500 {
				kind = "Receiver"
			}
			w.WriteHeader(status)
			fmt.Fprintf(w, `<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>%s</Type><Code>%s</Code><Message>injected</Message></Error><RequestId>r%d</RequestId></ErrorResponse>`, kind, code, n)
			return
		}
		s.mu.Lock()
		s.accepted = append(s.accepted, form.Get("Message"))
		s.mu.Unlock()
		fmt.Fprintf(w, `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>m-%d</MessageId></PublishResult><ResponseMetadata><RequestId>r%d</RequestId></ResponseMetadata></PublishResponse>`, n, n)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func (s *snsFault) counts() (calls, accepted int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls, len(s.accepted)
}

// SNS throttles or fails: the SDK's retryer (with RetryThrottles, as the
// monitor function builds it) retries; a failure that outlasts it fails
// the invocation, and Lambda's retry publishes the finding exactly once.
func TestMonitorSNSFaults(t *testing.T) {
	failFirst := func(k, status int, code string) func(int) (int, string) {
		return func(n int) (int, string) {
			if n <= k {
				return status, code
			}
			return 0, ""
		}
	}
	for _, tc := range []struct {
		name     string
		script   func(int) (int, string)
		firstErr string // "" means the first invocation succeeds
	}{
		{"Throttled twice", failFirst(2, 400, "Throttled"), ""},
		{"KMSThrottling twice", failFirst(2, 400, "KMSThrottling"), ""},
		{"500 twice", failFirst(2, 500, "InternalError"), ""},
		{"503 twice", failFirst(2, 503, "ServiceUnavailable"), ""},
		{"Throttled throughout the invocation", failFirst(3, 400, "Throttled"), "Throttled"},
		{"KMSThrottling throughout the invocation", failFirst(3, 400, "KMSThrottling"), "KMSThrottling"},
		{"500 throughout the invocation", failFirst(3, 500, "InternalError"), "InternalError"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sf := &snsFault{script: tc.script}
			var logs bytes.Buffer
			j := &fakeJudge{findings: threeFindings()[:1]}
			m := newMonitor(stubClient(sf.start(t), RetryThrottles), j, &logs)
			ev := event(t, lambdaDetail)

			err := m.Handle(context.Background(), ev)
			calls, accepted := sf.counts()
			if tc.firstErr == "" {
				if err != nil || accepted != 1 {
					t.Fatalf("error %v, %d published after %d calls; want success and 1", err, accepted, calls)
				}
			} else {
				if err == nil || !strings.Contains(err.Error(), tc.firstErr) || accepted != 0 {
					t.Fatalf("error %v, %d published; want a %s failure and nothing published", err, accepted, tc.firstErr)
				}
				if calls != 3 {
					t.Errorf("%d calls, want 3 (the retryer's attempts)", calls)
				}
				// Lambda retries the failed invocation.
				if err := m.Handle(context.Background(), ev); err != nil {
					t.Fatalf("Lambda's retry: %v", err)
				}
			}
			// A further delivery of the same event (EventBridge is at
			// least once) publishes nothing.
			if err := m.Handle(context.Background(), ev); err != nil {
				t.Fatal(err)
			}
			if _, accepted := sf.counts(); accepted != 1 {
				t.Errorf("%d messages published in all, want exactly 1", accepted)
			}
		})
	}
}

// EventBridge delivers one event several times to the warm function:
// each finding is published once.
func TestMonitorDuplicateDeliveries(t *testing.T) {
	sf := &snsFault{script: func(int) (int, string) { return 0, "" }}
	var logs bytes.Buffer
	m := newMonitor(stubClient(sf.start(t), RetryThrottles), &fakeJudge{findings: threeFindings()}, &logs)
	ev := event(t, lambdaDetail)
	for i := range 5 {
		if err := m.Handle(context.Background(), ev); err != nil {
			t.Fatalf("delivery %d: %v", i+1, err)
		}
	}
	// Of the three findings one is INFO, below the minimum.
	if threeFindings()[2].Severity != detect.Info {
		t.Fatal("the third finding is meant to be below the minimum")
	}
	if _, accepted := sf.counts(); accepted != 2 {
		t.Errorf("%d messages for 5 deliveries of one event with 2 findings to publish, want 2", accepted)
	}
}

package notify

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sns"
)

// snsStub answers Publish over the query protocol: with SNS's modelled
// Throttled error for the first `throttle` calls, then with success.
func snsStub(t *testing.T, throttle int32) (*httptest.Server, *atomic.Int32) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !strings.Contains(string(body), "Action=Publish") {
			t.Errorf("request %s is not a Publish", body)
		}
		w.Header().Set("Content-Type", "text/xml")
		if calls.Add(1) <= throttle {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender</Type><Code>Throttled</Code><Message>Rate exceeded</Message></Error><RequestId>r1</RequestId></ErrorResponse>`)
			return
		}
		io.WriteString(w, `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>m-1</MessageId></PublishResult><ResponseMetadata><RequestId>r2</RequestId></ResponseMetadata></PublishResponse>`)
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func stubClient(url string, optFns ...func(*sns.Options)) *sns.Client {
	opts := sns.Options{
		Region:       "eu-west-1",
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		// No waiting between attempts: the test is about which errors retry.
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) { o.Backoff = retry.BackoffDelayerFunc(noDelay) }),
	}
	return sns.New(opts, optFns...)
}

func TestRetryThrottles(t *testing.T) {
	in, err := PublishInput(topic, findings["public-invoke"])
	if err != nil {
		t.Fatal(err)
	}

	// Without the option, the SDK gives up on the first Throttled: this is
	// why the option exists.
	srv, calls := snsStub(t, 1)
	if _, err := stubClient(srv.URL).Publish(context.Background(), in); err == nil || calls.Load() != 1 {
		t.Fatalf("default retryer: err %v after %d calls; want Throttled after 1 (has the SDK changed?)", err, calls.Load())
	}

	srv, calls = snsStub(t, 2)
	out, err := stubClient(srv.URL, RetryThrottles).Publish(context.Background(), in)
	if err != nil {
		t.Fatalf("with RetryThrottles: %v after %d calls", err, calls.Load())
	}
	if calls.Load() != 3 || aws.ToString(out.MessageId) != "m-1" {
		t.Errorf("%d calls, message %q; want 3 calls and m-1", calls.Load(), aws.ToString(out.MessageId))
	}
}

func noDelay(int, error) (time.Duration, error) { return 0, nil }

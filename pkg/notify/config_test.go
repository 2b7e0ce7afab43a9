package notify

import (
	"context"
	"fmt"
	"io"
	"maps"
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

	"github.com/lambdawatch/lambdawatch/pkg/detect"
	"github.com/lambdawatch/lambdawatch/pkg/envvar"
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

// TestConfigFromEnvIdentifiers: the monitor refuses at cold start the
// account and organization IDs, prefixes and role patterns the CDK app
// refuses, and names every bad value; a typo no longer trusts nobody
// silently.
func TestConfigFromEnvIdentifiers(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    Config
		wantErr string // the whole error; "" for none
	}{
		{name: "trusted accounts and organization",
			env:  map[string]string{envvar.TrustedAccounts: "111122223333, 444455556666,", envvar.OrgID: " o-a1b2c3d4e5 "},
			want: Config{TopicARN: topic, TrustedAccounts: []string{"111122223333", "444455556666"}, OrgID: "o-a1b2c3d4e5", MinSeverity: detect.Medium, MonitorPrefix: "lambdawatch"}},
		{name: "a ? glob in a deploy role",
			env:  map[string]string{envvar.MonitorDeployRoles: "deployer-?,cdk-*-cfn-exec-role-*"},
			want: Config{TopicARN: topic, MinSeverity: detect.Medium, MonitorPrefix: "lambdawatch", DeployRoles: []string{"deployer-?", "cdk-*-cfn-exec-role-*"}}},
		{name: "bad trusted accounts, each named",
			env:     map[string]string{envvar.TrustedAccounts: "1234,notanaccount"},
			wantErr: `monitor configuration: TRUSTED_ACCOUNTS: "1234" is not a 12-digit account ID; "notanaccount" is not a 12-digit account ID`},
		{name: "one bad account among good ones",
			env:     map[string]string{envvar.TrustedAccounts: "111122223333,11112222333,444455556666"},
			wantErr: `monitor configuration: TRUSTED_ACCOUNTS: "11112222333" is not a 12-digit account ID`},
		{name: "semicolons are no separators",
			env:     map[string]string{envvar.TrustedAccounts: "111122223333;444455556666"},
			wantErr: `monitor configuration: TRUSTED_ACCOUNTS: "111122223333;444455556666" is not a 12-digit account ID`},
		{name: "organization ID too short",
			env:     map[string]string{envvar.OrgID: "o-abc"},
			wantErr: `monitor configuration: ORG_ID: "o-abc" is not an organization ID (o- and 10 to 32 lower-case letters or digits)`},
		{name: "organization ID in upper case",
			env:     map[string]string{envvar.OrgID: "O-A1B2C3D4E5"},
			wantErr: `monitor configuration: ORG_ID: "O-A1B2C3D4E5" is not an organization ID (o- and 10 to 32 lower-case letters or digits)`},
		{name: "an account ID as the organization",
			env:     map[string]string{envvar.OrgID: "111122223333"},
			wantErr: `monitor configuration: ORG_ID: "111122223333" is not an organization ID (o- and 10 to 32 lower-case letters or digits)`},
		{name: "bad deploy roles, each named",
			env: map[string]string{envvar.MonitorDeployRoles: "team/deployer,ok-role,[x]"},
			wantErr: "monitor configuration: MONITOR_DEPLOY_ROLES: \"team/deployer\": want a role name, with * or ? standing for any characters\n" +
				`MONITOR_DEPLOY_ROLES: "[x]": want a role name, with * or ? standing for any characters`},
		{name: "a state lease",
			env:  map[string]string{envvar.StateTable: "lambdawatch-state", envvar.StateLease: " 90s "},
			want: Config{TopicARN: topic, MinSeverity: detect.Medium, MonitorPrefix: "lambdawatch", StateTable: "lambdawatch-state", StateLease: 90 * time.Second}},
		{name: "the longest state lease",
			env:  map[string]string{envvar.StateLease: "15m"},
			want: Config{TopicARN: topic, MinSeverity: detect.Medium, MonitorPrefix: "lambdawatch", StateLease: 15 * time.Minute}},
		{name: "a state lease that is no duration",
			env:     map[string]string{envvar.StateLease: "2 minutes"},
			wantErr: `monitor configuration: STATE_LEASE: "2 minutes" is not a duration (such as 2m or 90s)`},
		{name: "a state lease without a unit",
			env:     map[string]string{envvar.StateLease: "120"},
			wantErr: `monitor configuration: STATE_LEASE: "120" is not a duration (such as 2m or 90s)`},
		{name: "a zero state lease",
			env:     map[string]string{envvar.StateLease: "0s"},
			wantErr: `monitor configuration: STATE_LEASE: "0s": want more than 0 and at most 15m`},
		{name: "a negative state lease",
			env:     map[string]string{envvar.StateLease: "-1m"},
			wantErr: `monitor configuration: STATE_LEASE: "-1m": want more than 0 and at most 15m`},
		{name: "a state lease longer than Lambda runs",
			env:     map[string]string{envvar.StateLease: "15m1s"},
			wantErr: `monitor configuration: STATE_LEASE: "15m1s": want more than 0 and at most 15m`},
		{name: "every mistake at once",
			env: map[string]string{envvar.SNSTopicARN: " ", envvar.TrustedAccounts: "1234", envvar.OrgID: "org-1", envvar.MonitorPrefix: "lambda_watch"},
			wantErr: "monitor configuration: SNS_TOPIC_ARN is not set\n" +
				"TRUSTED_ACCOUNTS: \"1234\" is not a 12-digit account ID\n" +
				"ORG_ID: \"org-1\" is not an organization ID (o- and 10 to 32 lower-case letters or digits)\n" +
				`MONITOR_PREFIX: "lambda_watch": want 1 to 40 letters, digits or hyphens`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{envvar.SNSTopicARN: topic}
			maps.Copy(env, tt.env)
			got, err := ConfigFromEnv(func(k string) string { return env[k] })
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if gotErr != tt.wantErr {
				t.Fatalf("error:\n%s\nwant:\n%s", gotErr, tt.wantErr)
			}
			if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

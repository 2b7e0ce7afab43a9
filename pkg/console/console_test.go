package console

import (
	"bufio"
	"os"
	"strings"
	"testing"

	"github.com/lambdawatch/lambdawatch/pkg/detect"
)

func TestFor(t *testing.T) {
	const id = "6f1c3f0e-8d3b-4c1e-9a57-1f2f5e0b9c11"
	tests := []struct {
		name string
		f    detect.Finding
		want Links
	}{
		{"function", detect.Finding{Region: "eu-west-1", Function: "orders-api", EventID: id}, Links{
			Permissions: "https://eu-west-1.console.aws.amazon.com/lambda/home?region=eu-west-1#/functions/orders-api?tab=permissions",
			Event:       "https://eu-west-1.console.aws.amazon.com/cloudtrailv2/home?region=eu-west-1#/events/" + id,
		}},
		{"alias arn", detect.Finding{Region: "us-east-1", Function: "arn:aws:lambda:us-east-1:111122223333:function:billing:prod"}, Links{
			Permissions: "https://us-east-1.console.aws.amazon.com/lambda/home?region=us-east-1#/functions/billing/aliases/prod?tab=permissions",
		}},
		{"version", detect.Finding{Region: "us-east-1", Function: "billing:3"}, Links{
			Permissions: "https://us-east-1.console.aws.amazon.com/lambda/home?region=us-east-1#/functions/billing/versions/3?tab=permissions",
		}},
		{"$LATEST", detect.Finding{Region: "us-east-1", Function: "billing:$LATEST"}, Links{
			Permissions: "https://us-east-1.console.aws.amazon.com/lambda/home?region=us-east-1#/functions/billing?tab=permissions",
		}},
		{"layer arn", detect.Finding{Region: "us-east-1", Layer: "arn:aws:lambda:us-east-1:123456789012:layer:shared:7"}, Links{
			Permissions: "https://us-east-1.console.aws.amazon.com/lambda/home?region=us-east-1#/layers/shared/versions/7",
		}},
		{"china", detect.Finding{Region: "cn-north-1", Function: "f"}, Links{
			Permissions: "https://cn-north-1.console.amazonaws.cn/lambda/home?region=cn-north-1#/functions/f?tab=permissions",
		}},
		{"govcloud", detect.Finding{Region: "us-gov-west-1", EventID: id}, Links{
			Event: "https://console.amazonaws-us-gov.com/cloudtrailv2/home?region=us-gov-west-1#/events/" + id,
		}},
		{"isolated partition", detect.Finding{Region: "us-iso-east-1", Function: "f", EventID: id}, Links{}},
		{"isolated partition b", detect.Finding{Region: "us-isob-east-1", Function: "f", EventID: id}, Links{}},
		{"isolated partition e", detect.Finding{Region: "eu-isoe-west-1", Function: "f", EventID: id}, Links{}},
		{"isolated partition f", detect.Finding{Region: "us-isof-south-1", Function: "f", EventID: id}, Links{}},
		{"european sovereign cloud", detect.Finding{Region: "eusc-de-east-1", Function: "f", EventID: id}, Links{}},
		{"newer region", detect.Finding{Region: "mx-central-1", EventID: id}, Links{
			Event: "https://mx-central-1.console.aws.amazon.com/cloudtrailv2/home?region=mx-central-1#/events/" + id,
		}},
		{"govcloud topic", detect.Finding{Region: "us-gov-east-1", Topic: "arn:aws-us-gov:sns:us-gov-east-1:111122223333:alerts"}, Links{
			Resource: "https://console.amazonaws-us-gov.com/sns/v3/home?region=us-gov-east-1#/topic/arn:aws-us-gov:sns:us-gov-east-1:111122223333:alerts",
		}},
		{"china queue", detect.Finding{Region: "cn-northwest-1", Queue: "arn:aws-cn:sqs:cn-northwest-1:111122223333:q"}, Links{
			Resource: "https://cn-northwest-1.console.amazonaws.cn/sqs/v3/home?region=cn-northwest-1#/queues/https%3A%2F%2Fsqs.cn-northwest-1.amazonaws.com.cn%2F111122223333%2Fq",
		}},
		{"china trail", detect.Finding{Region: "cn-north-1", Account: "111122223333", Trail: "t-1"}, Links{
			Resource: "https://cn-north-1.console.amazonaws.cn/cloudtrailv2/home?region=cn-north-1#/trails/arn:aws-cn:cloudtrail:cn-north-1:111122223333:trail/t-1",
		}},
		{"unknown geography", detect.Finding{Region: "xx-east-1", Function: "f", EventID: id}, Links{}},
		{"availability zone", detect.Finding{Region: "us-east-1a", Function: "f", EventID: id}, Links{}},
		{"upper case region", detect.Finding{Region: "US-EAST-1", Function: "f", EventID: id}, Links{}},
		{"hostile names get no link", detect.Finding{Region: "eu-west-1", Function: "a/../b?c#d@e", EventID: "x/#?@y"}, Links{}},
		{"mrkdwn in a name", detect.Finding{Region: "eu-west-1", Function: "f>|<!channel>", Layer: "l"}, Links{}},
		{"name with a space in an arn", detect.Finding{Region: "us-east-1", Function: "arn:aws:lambda:us-east-1:1:function:a b"}, Links{}},
		{"odd qualifier links the function", detect.Finding{Region: "us-east-1", Function: "billing:<!here>"}, Links{
			Permissions: "https://us-east-1.console.aws.amazon.com/lambda/home?region=us-east-1#/functions/billing?tab=permissions",
		}},
		{"region with a host", detect.Finding{Region: "eu-west-1.evil.example", Function: "f", EventID: id}, Links{}},
		{"region with a path", detect.Finding{Region: "evil.example/eu-west-1", Function: "f", EventID: id}, Links{}},
		{"region with a pipe", detect.Finding{Region: "us-east-1|x", Function: "f", EventID: id}, Links{}},
		{"empty region", detect.Finding{Function: "f", EventID: id}, Links{}},
		{"no resource", detect.Finding{Region: "us-east-1"}, Links{}},
		{"trail by name", detect.Finding{Region: "eu-west-1", Account: "111122223333", Trail: "management-events"}, Links{
			Resource: "https://eu-west-1.console.aws.amazon.com/cloudtrailv2/home?region=eu-west-1#/trails/arn:aws:cloudtrail:eu-west-1:111122223333:trail/management-events",
		}},
		{"trail by ARN", detect.Finding{Region: "eu-west-1", Trail: "arn:aws:cloudtrail:eu-west-1:111122223333:trail/org.trail"}, Links{
			Resource: "https://eu-west-1.console.aws.amazon.com/cloudtrailv2/home?region=eu-west-1#/trails/arn:aws:cloudtrail:eu-west-1:111122223333:trail/org.trail",
		}},
		{"trail without account", detect.Finding{Region: "eu-west-1", Trail: "management-events"}, Links{}},
		{"hostile trail", detect.Finding{Region: "eu-west-1", Account: "111122223333", Trail: "t/../#x"}, Links{}},
		{"rule", detect.Finding{Region: "eu-west-1", EventRule: "lambdawatch-lambda-calls"}, Links{
			Resource: "https://eu-west-1.console.aws.amazon.com/events/home?region=eu-west-1#/eventbus/default/rules/lambdawatch-lambda-calls",
		}},
		{"rule on another bus", detect.Finding{Region: "eu-west-1", EventRule: "audit/lambdawatch-monitor"}, Links{
			Resource: "https://eu-west-1.console.aws.amazon.com/events/home?region=eu-west-1#/eventbus/audit/rules/lambdawatch-monitor",
		}},
		{"rule with mrkdwn", detect.Finding{Region: "eu-west-1", EventRule: "r|<!channel>"}, Links{}},
		{"topic", detect.Finding{Region: "eu-west-1", Topic: "arn:aws:sns:eu-west-1:111122223333:lambdawatch-alerts"}, Links{
			Resource: "https://eu-west-1.console.aws.amazon.com/sns/v3/home?region=eu-west-1#/topic/arn:aws:sns:eu-west-1:111122223333:lambdawatch-alerts",
		}},
		{"topic of another region", detect.Finding{Region: "eu-west-1", Topic: "arn:aws:sns:us-east-1:111122223333:t"}, Links{}},
		{"topic not an ARN", detect.Finding{Region: "eu-west-1", Topic: "lambdawatch-alerts"}, Links{}},
		{"queue", detect.Finding{Region: "eu-west-1", Queue: "https://sqs.eu-west-1.amazonaws.com/111122223333/lambdawatch-slack"}, Links{
			Resource: "https://eu-west-1.console.aws.amazon.com/sqs/v3/home?region=eu-west-1#/queues/https%3A%2F%2Fsqs.eu-west-1.amazonaws.com%2F111122223333%2Flambdawatch-slack",
		}},
		{"queue ARN", detect.Finding{Region: "eu-west-1", Queue: "arn:aws:sqs:eu-west-1:111122223333:lambdawatch-slack-dlq"}, Links{
			Resource: "https://eu-west-1.console.aws.amazon.com/sqs/v3/home?region=eu-west-1#/queues/https%3A%2F%2Fsqs.eu-west-1.amazonaws.com%2F111122223333%2Flambdawatch-slack-dlq",
		}},
		{"hostile queue URL", detect.Finding{Region: "eu-west-1", Queue: "https://evil.example/111122223333/q?x=<y>"}, Links{}},
		{"queue URL of another host is rebuilt", detect.Finding{Region: "eu-west-1", Queue: "https://evil.example/111122223333/q"}, Links{
			Resource: "https://eu-west-1.console.aws.amazon.com/sqs/v3/home?region=eu-west-1#/queues/https%3A%2F%2Fsqs.eu-west-1.amazonaws.com%2F111122223333%2Fq",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := For(tt.f); got != tt.want {
				t.Errorf("For =\n  %+v\nwant\n  %+v", got, tt.want)
			}
		})
	}
}

// TestForEveryRegion: every region of the SDK's partition table that
// awsid knows (the table awsid's own tests read) gets links when its
// partition's console is public, and none otherwise.
func TestForEveryRegion(t *testing.T) {
	f, err := os.Open("../awsid/testdata/regions.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const id = "6f1c3f0e-8d3b-4c1e-9a57-1f2f5e0b9c11"
	linked := map[string]string{
		"aws":        "https://%s.console.aws.amazon.com/cloudtrailv2/",
		"aws-cn":     "https://%s.console.amazonaws.cn/cloudtrailv2/",
		"aws-us-gov": "https://console.amazonaws-us-gov.com/cloudtrailv2/",
	}
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		region, partition, ok := strings.Cut(sc.Text(), "\t")
		if !ok || strings.HasPrefix(region, "#") {
			continue
		}
		n++
		l := For(detect.Finding{Region: region, EventID: id})
		want, public := linked[partition]
		switch {
		case public && !strings.HasPrefix(l.Event, strings.ReplaceAll(want, "%s", region)):
			t.Errorf("%s (%s): event link %q, want one under %s", region, partition, l.Event, strings.ReplaceAll(want, "%s", region))
		case !public && l != (Links{}):
			t.Errorf("%s (%s): links %+v, want none", region, partition, l)
		}
	}
	if err := sc.Err(); err != nil || n == 0 {
		t.Fatalf("read %d regions: %v", n, err)
	}
}

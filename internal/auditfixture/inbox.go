package auditfixture

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/lambdawatch/lambdawatch/pkg/detect"
	"github.com/lambdawatch/lambdawatch/pkg/digest"
	"github.com/lambdawatch/lambdawatch/pkg/notify"
)

// Inbox is the alert topic in moto's SNS with a queue subscribed to it, as
// the Slack function's queue is: Take reads what was published since.
type Inbox struct {
	Topic string
	sqs   *sqs.Client
	queue *string
}

// NewInbox makes the topic lambdawatch-alerts and the queue in moto's
// default account, reached through cfg.
func NewInbox(ctx context.Context, cfg aws.Config, account string) (*Inbox, error) {
	sc, qc := sns.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	topic, err := sc.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("lambdawatch-alerts")})
	if err != nil {
		return nil, fmt.Errorf("inbox: %w", err)
	}
	q, err := qc.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("inbox")})
	if err != nil {
		return nil, fmt.Errorf("inbox: %w", err)
	}
	if _, err := sc.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("sqs"),
		Endpoint: aws.String("arn:aws:sqs:" + cfg.Region + ":" + account + ":inbox")}); err != nil {
		return nil, fmt.Errorf("inbox: %w", err)
	}
	return &Inbox{Topic: aws.ToString(topic.TopicArn), sqs: qc, queue: q.QueueUrl}, nil
}

// Take reads and deletes what the queue holds: the alerts, and the
// digests (messages with the rule attribute audit), from the sqs member
// of each message as SNS delivers it.
func (in *Inbox) Take(ctx context.Context) (alerts []detect.Finding, digests []digest.Digest, err error) {
	for {
		out, err := in.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: in.queue, MaxNumberOfMessages: 10})
		if err != nil {
			return nil, nil, fmt.Errorf("inbox: %w", err)
		}
		if len(out.Messages) == 0 {
			return alerts, digests, nil
		}
		for _, m := range out.Messages {
			var env struct {
				Message           string
				MessageAttributes map[string]struct{ Value string }
			}
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &env); err != nil {
				return nil, nil, fmt.Errorf("inbox: not an SNS message: %w", err)
			}
			if env.MessageAttributes[notify.AttrRule].Value == digest.Rule {
				var d digest.Digest
				if err := json.Unmarshal([]byte(env.Message), &d); err != nil {
					return nil, nil, fmt.Errorf("inbox: digest: %w", err)
				}
				digests = append(digests, d)
			} else {
				var f detect.Finding
				if err := json.Unmarshal([]byte(env.Message), &f); err != nil {
					return nil, nil, fmt.Errorf("inbox: finding: %w", err)
				}
				alerts = append(alerts, f)
			}
			if _, err := in.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: in.queue, ReceiptHandle: m.ReceiptHandle}); err != nil {
				return nil, nil, fmt.Errorf("inbox: %w", err)
			}
		}
	}
}

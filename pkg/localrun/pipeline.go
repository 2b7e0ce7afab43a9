package localrun

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// Config configures a pipeline.
type Config struct {
	// Dir holds goaws's configuration; required.
	Dir string
	Bin Binaries
	// SlackWebhookURL is where the Slack function posts (a FakeSlack's URL).
	SlackWebhookURL string

	Region  string // default eu-west-1
	Account string // owner of the topic and the queue; default 111122223333
	Topic   string // SNS topic name; default alerts

	// MonitorEnv and SlackEnv add to (and override) each function's
	// environment: TRUSTED_ACCOUNTS, ORG_ID, MIN_SEVERITY, ...
	MonitorEnv []string
	SlackEnv   []string
	// Timeout is each function's timeout; default 30s.
	Timeout time.Duration
	// SlackBatch is the most messages one Slack invocation gets, as the
	// event source mapping's batch size; default 10.
	SlackBatch int

	// SNSMiddleware, if set, wraps goaws's handler: tests use it to make
	// SNS fail.
	SNSMiddleware func(http.Handler) http.Handler

	// Logs receives the functions', the emulator's and goaws's output;
	// nil discards it.
	Logs io.Writer
}

// Pipeline is the running pipeline: monitor -> SNS -> glue -> email
// reader and Slack function. Send is not safe for concurrent use: events
// go through one at a time, as the demo's output needs.
type Pipeline struct {
	cfg     Config
	Monitor *Function
	Slack   *Function
	// SNSURL is goaws's endpoint; TopicARN the alerts topic.
	SNSURL   string
	TopicARN string

	sns   *snsServer
	glue  *glue
	queue string // the ARN the SQS records name as their source
	seq   int
}

// Start starts goaws, the glue, and both functions under the emulator.
// On error, whatever was started is stopped.
func Start(ctx context.Context, cfg Config) (p *Pipeline, err error) {
	if cfg.Dir == "" {
		return nil, errors.New("localrun: Config.Dir is required")
	}
	cfg.Region = orDefault(cfg.Region, "eu-west-1")
	cfg.Account = orDefault(cfg.Account, "111122223333")
	cfg.Topic = orDefault(cfg.Topic, "alerts")
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.SlackBatch <= 0 {
		cfg.SlackBatch = 10
	}
	if cfg.Logs == nil {
		cfg.Logs = io.Discard
	}
	p = &Pipeline{cfg: cfg, queue: fmt.Sprintf("arn:aws:sqs:%s:%s:%s-slack", cfg.Region, cfg.Account, cfg.Topic)}
	defer func() {
		if err != nil {
			p.Close()
			p = nil
		}
	}()

	if p.glue, err = startGlue(); err != nil {
		return nil, err
	}
	if p.sns, err = startSNS(cfg.Dir, cfg.Region, cfg.Account, cfg.Topic, p.glue.URL, cfg.SNSMiddleware, cfg.Logs); err != nil {
		return nil, err
	}
	p.SNSURL, p.TopicARN = p.sns.URL, p.sns.TopicARN

	// Only what a function needs, as in Lambda: nothing leaks in from the
	// caller's environment, such as an AWS profile that would send the
	// monitor to real AWS.
	base := []string{
		"AWS_REGION=" + cfg.Region,
		"AWS_DEFAULT_REGION=" + cfg.Region,
		"AWS_ACCESS_KEY_ID=localrun", // goaws checks no signature
		"AWS_SECRET_ACCESS_KEY=localrun",
		"AWS_CONFIG_FILE=" + filepath.Join(cfg.Dir, "no-aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(cfg.Dir, "no-aws-credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_LAMBDA_FUNCTION_TIMEOUT=" + strconv.Itoa(int(cfg.Timeout/time.Second)),
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128",
		"TZ=UTC",
	}
	monitorEnv := append(append([]string{}, base...),
		"AWS_LAMBDA_FUNCTION_NAME=lambdawatch-monitor",
		"SNS_TOPIC_ARN="+p.TopicARN,
		"AWS_ENDPOINT_URL_SNS="+p.SNSURL,
	)
	monitorEnv = append(monitorEnv, cfg.MonitorEnv...)
	slackEnv := append(append([]string{}, base...),
		"AWS_LAMBDA_FUNCTION_NAME=lambdawatch-slack",
		"SLACK_WEBHOOK_URL="+cfg.SlackWebhookURL,
	)
	slackEnv = append(slackEnv, cfg.SlackEnv...)

	if p.Monitor, err = startFunction(ctx, functionSpec{name: "monitor", rie: cfg.Bin.RIE, bootstrap: cfg.Bin.Monitor, env: monitorEnv, out: cfg.Logs}); err != nil {
		return nil, err
	}
	if p.Slack, err = startFunction(ctx, functionSpec{name: "slack", rie: cfg.Bin.RIE, bootstrap: cfg.Bin.Slack, env: slackEnv, out: cfg.Logs}); err != nil {
		return nil, err
	}
	return p, nil
}

// Close stops everything Start started.
func (p *Pipeline) Close() {
	if p.Monitor != nil {
		p.Monitor.Stop()
	}
	if p.Slack != nil {
		p.Slack.Stop()
	}
	if p.sns != nil {
		p.sns.close()
		p.sns = nil
	}
	if p.glue != nil {
		p.glue.close()
	}
}

// Alert is one SNS message and what became of it.
type Alert struct {
	Notification
	// SlackFailed is set when the Slack function reported the message as
	// a batch item failure (SQS would deliver it again) or failed
	// altogether.
	SlackFailed bool
}

// Result is what one event caused.
type Result struct {
	// MonitorErr is the monitor's failure, if the invocation failed:
	// Lambda would retry the event.
	MonitorErr error
	// Alerts are the messages the monitor published, in order.
	Alerts []Alert
	// SlackResponses are the Slack function's answers, one per batch.
	SlackResponses []events.SQSEventResponse
	// SlackErr is a failed Slack invocation; SQS would retry the batch.
	SlackErr error
}

// Send delivers ev to the monitor as EventBridge does (an asynchronous
// invocation), then hands each message the monitor published to the
// Slack function as SQS does: in batches of up to SlackBatch, each
// record's body the message's sqs member, its attributes the message's.
// It returns once the Slack function has answered, so that calls can be
// made in turn and their output read in order. An error is the
// pipeline's own failure, not a function's.
func (p *Pipeline) Send(ctx context.Context, ev events.CloudWatchEvent) (Result, error) {
	return p.SendAll(ctx, []events.CloudWatchEvent{ev})
}

// SendAll is Send for many events arriving together, as in an alert
// storm: each goes to the monitor in turn, then every message they
// published waits in the queue and reaches the Slack function in batches
// of up to SlackBatch. MonitorErr joins the monitor's failures.
func (p *Pipeline) SendAll(ctx context.Context, evs []events.CloudWatchEvent) (Result, error) {
	var res Result
	var monitorErrs []error
	for _, ev := range evs {
		payload, err := json.Marshal(ev)
		if err != nil {
			return Result{}, fmt.Errorf("encode event %s: %w", ev.ID, err)
		}
		if _, err := p.Monitor.Invoke(ctx, payload); err != nil {
			if fe := (*FunctionError)(nil); !errors.As(err, &fe) {
				return Result{}, err
			}
			monitorErrs = append(monitorErrs, err)
		}
	}
	if len(monitorErrs) == 1 {
		res.MonitorErr = monitorErrs[0]
	} else {
		res.MonitorErr = errors.Join(monitorErrs...)
	}
	// goaws posts to the glue before Publish returns: every message of
	// these invocations is in by now.
	ns, err := p.glue.take()
	if err != nil {
		return res, fmt.Errorf("sns delivery: %w", err)
	}
	for _, n := range ns {
		res.Alerts = append(res.Alerts, Alert{Notification: n})
	}
	size := p.cfg.SlackBatch
	for start := 0; start < len(res.Alerts); start += size {
		batch := res.Alerts[start:min(start+size, len(res.Alerts))]
		resp, err := p.deliver(ctx, batch)
		if err != nil {
			var fe *FunctionError
			if !errors.As(err, &fe) {
				return res, err
			}
			res.SlackErr = errors.Join(res.SlackErr, err)
			for i := range batch {
				batch[i].SlackFailed = true
			}
			continue
		}
		res.SlackResponses = append(res.SlackResponses, resp)
		failed := map[string]bool{}
		for _, f := range resp.BatchItemFailures {
			failed[f.ItemIdentifier] = true
		}
		for i := range batch {
			batch[i].SlackFailed = failed[batch[i].MessageID]
		}
	}
	return res, nil
}

// deliver invokes the Slack function with one SQS batch.
func (p *Pipeline) deliver(ctx context.Context, batch []Alert) (events.SQSEventResponse, error) {
	var ev events.SQSEvent
	for _, a := range batch {
		p.seq++
		sum := md5.Sum([]byte(a.Body))
		m := events.SQSMessage{
			MessageId:     a.MessageID,
			ReceiptHandle: fmt.Sprintf("localrun-%d", p.seq),
			Body:          a.Body,
			Md5OfBody:     hex.EncodeToString(sum[:]),
			Attributes: map[string]string{
				"ApproximateReceiveCount":          "1",
				"SentTimestamp":                    strconv.FormatInt(time.Now().UnixMilli(), 10),
				"SenderId":                         "AIDALOCALRUNSNS",
				"ApproximateFirstReceiveTimestamp": strconv.FormatInt(time.Now().UnixMilli(), 10),
			},
			MessageAttributes: map[string]events.SQSMessageAttribute{},
			EventSourceARN:    p.queue,
			EventSource:       "aws:sqs",
			AWSRegion:         p.cfg.Region,
		}
		for k, v := range a.Attributes {
			m.MessageAttributes[k] = events.SQSMessageAttribute{DataType: "String", StringValue: &v}
		}
		ev.Records = append(ev.Records, m)
	}
	payload, err := json.Marshal(ev)
	if err != nil {
		return events.SQSEventResponse{}, fmt.Errorf("encode SQS event: %w", err)
	}
	out, err := p.Slack.Invoke(ctx, payload)
	if err != nil {
		return events.SQSEventResponse{}, err
	}
	var resp events.SQSEventResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		return events.SQSEventResponse{}, fmt.Errorf("slack function answered %q: %w", out, err)
	}
	return resp, nil
}

// Command slack is the Lambda function that posts lambdawatch findings from
// an SQS queue (subscribed to the alerts topic with raw message delivery)
// to Slack, reporting undelivered messages as batch item failures. See
// pkg/slackalert for what it posts.
//
// Environment:
//
//	SLACK_SECRET_ARN   Secrets Manager secret: {"webhook_url": ...} or
//	                   {"bot_token": ..., "channel": ...}; read once per cold start
//	SLACK_WEBHOOK_URL  instead of the secret, for local runs (http allowed)
//	SLACK_API_URL      Web API base for bot tokens (a local fake); optional
//	STATE_TABLE        DynamoDB table that remembers what was posted; optional
//	STATE_LEASE        how long a claim in it holds its key (Go duration, default 2m, at most 15m)
//	LOG_LEVEL          debug, info (default), warn or error
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/lambdawatch/lambdawatch/pkg/state"
)

func main() {
	c, err := configFromEnv(os.Getenv)
	log := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: c.LogLevel}))
	slog.SetDefault(log)
	if err != nil {
		log.Error("bad configuration", "err", err)
		os.Exit(1)
	}
	awsCfg := func(ctx context.Context) (aws.Config, error) { return awsconfig.LoadDefaultConfig(ctx) }
	h, err := setup(context.Background(), c, log, func(ctx context.Context) (SecretGetter, error) {
		cfg, err := awsCfg(ctx)
		return secretsmanager.NewFromConfig(cfg), err
	})
	if err == nil && c.StateTable != "" {
		var cfg aws.Config
		cfg, err = awsCfg(context.Background())
		h.State = state.New(dynamodb.NewFromConfig(cfg), c.StateTable, state.WithLease(c.StateLease))
	}
	if err != nil {
		// Failing the cold start leaves the messages in the queue.
		log.Error("setup failed", "err", err)
		os.Exit(1)
	}
	lambda.Start(h.Handle)
}

// Command monitor is the Lambda function that judges CloudTrail records of
// Lambda calls, and of calls that could switch CloudTrail or lambdawatch
// off, delivered by EventBridge, and publishes each finding at or above
// MIN_SEVERITY to SNS. The handler is notify.Monitor.
//
// Environment (pkg/envvar names it): SNS_TOPIC_ARN (required),
// TRUSTED_ACCOUNTS (comma-separated account IDs), ORG_ID, MIN_SEVERITY
// (default MEDIUM), MONITOR_PREFIX (how the names of the stack's own
// resources start; default lambdawatch), MONITOR_DEPLOY_ROLES
// (comma-separated patterns of the roles CloudFormation deploys the stack
// with), STATE_TABLE (the DynamoDB table that remembers what was
// published, across containers and retries), STATE_LEASE (how long a
// claim in it holds its key; default 2m), SUPPRESSIONS_FILE (accepted
// findings, muted), LOG_LEVEL (else Lambda's AWS_LAMBDA_LOG_LEVEL; default
// info). A malformed value, or a suppressions file that does not load,
// stops the cold start, named in the log. Region, credentials and endpoints
// come from the SDK's own chain: AWS_ENDPOINT_URL_SNS points it at a local
// SNS.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/lambdawatch/lambdawatch/pkg/envvar"
	"github.com/lambdawatch/lambdawatch/pkg/notify"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: logLevel()}))
	slog.SetDefault(log)

	cfg, err := notify.ConfigFromEnv(os.Getenv)
	if err != nil {
		// The exit fails the invocation as an initialization error: the
		// event takes the failed invocations' way (retries, then the
		// dead-letter queue), not judged by a misconfigured engine.
		log.Error("configuration", "error", err)
		os.Exit(1)
	}
	awsCfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		log.Error("AWS configuration", "error", err)
		os.Exit(1)
	}
	m := cfg.Monitor(awsCfg, log)
	lambda.Start(m.Handle)
}

// logLevel reads LOG_LEVEL, else the level Lambda's advanced logging
// controls set (AWS_LAMBDA_LOG_LEVEL); info by default or if unknown.
func logLevel() slog.Level {
	for _, name := range []string{envvar.LogLevel, envvar.LambdaLogLevel} {
		var l slog.Level
		if v := os.Getenv(name); v != "" && l.UnmarshalText([]byte(v)) == nil {
			return l
		}
	}
	return slog.LevelInfo
}

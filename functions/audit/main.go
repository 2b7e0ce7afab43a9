// Command audit is the Lambda function of the scheduled audit: EventBridge
// Scheduler invokes it, and it judges what the accounts hold with the
// rules and publishes one digest to the alert topic; in the organization
// layout it sends one message per account and region to its queue, and
// reads each back in an invocation of its own. The handler is
// sweep.Sweep.
//
// Environment (pkg/envvar names it): the monitor's (SNS_TOPIC_ARN,
// TRUSTED_ACCOUNTS, ORG_ID, MIN_SEVERITY, MONITOR_PREFIX,
// SUPPRESSIONS_FILE), AUDIT_REGIONS (default: the function's region),
// AUDIT_ROLE (the role to assume in each member account; set, the
// organization's accounts are audited), AUDIT_QUEUE_URL (the fan-out
// queue). A bad value stops the cold start, named in the log.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/lambdawatch/lambdawatch/pkg/sweep"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err == nil {
		var s *sweep.Sweep
		if s, err = sweep.FromEnv(ctx, os.Getenv, cfg, log); err == nil {
			lambda.Start(s.Handle)
		}
	}
	log.Error("configuration", "error", err)
	os.Exit(1)
}

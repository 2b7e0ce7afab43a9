// Package slackalert turns lambdawatch findings into Slack messages and
// delivers them.
//
// The pieces stand alone so that the Lambda function (functions/slack) and
// the local demo can share them:
//
//   - DecodeFinding reads one SQS message body (a JSON detect.Finding).
//   - Build and BuildSummary make Block Kit messages; CheckLimits verifies
//     Slack's size limits and RenderText shows a message as plain text.
//   - WebhookPoster and BotPoster send a message; Retrier retries them on
//     429, 5xx and timeouts within the caller's deadline, and reads a bot's
//     channel back (BotPoster is a Finder) before retrying an attempt that
//     may have posted.
//   - Handler processes an SQS batch and reports partial batch failures.
//
// Every value that comes from CloudTrail is escaped for mrkdwn (&, <, >)
// and sent in verbatim text objects, so an attacker who controls a user
// agent or a function name cannot mention @channel, plant a link or make
// Slack auto-link a URL.
package slackalert

package slackalert

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/slack-go/slack"
)

// Poster sends one message to Slack.
type Poster interface {
	Post(ctx context.Context, msg slack.WebhookMessage) error
}

// WebhookPoster posts to an incoming webhook.
type WebhookPoster struct {
	URL    string
	Client *http.Client // nil means http.DefaultClient
}

// Post sends msg to the webhook. Errors never contain the webhook URL,
// whose path is the secret.
func (p WebhookPoster) Post(ctx context.Context, msg slack.WebhookMessage) error {
	c := p.Client
	if c == nil {
		c = http.DefaultClient
	}
	err := slack.PostWebhookCustomHTTPContext(ctx, p.URL, c, &msg)
	return redactURL(err)
}

// redactURL replaces err, which quotes the webhook URL, by one that
// keeps only the URL's host: logs must not hold the secret path. slack-go
// formats its wrapping message when it makes the error, so the URL is
// dropped from a new error rather than edited in place.
func redactURL(err error) error {
	ue, ok := errors.AsType[*url.Error](err)
	if !ok {
		return err
	}
	host := "(webhook URL)"
	if u, perr := url.Parse(ue.URL); perr == nil && u.Host != "" {
		host = u.Scheme + "://" + u.Host + "/…"
	}
	return fmt.Errorf("post webhook: %w", &url.Error{Op: ue.Op, URL: host, Err: ue.Err})
}

// ChatPoster is the part of *slack.Client that BotPoster uses.
type ChatPoster interface {
	PostMessageContext(ctx context.Context, channelID string, options ...slack.MsgOption) (string, string, error)
}

// BotPoster posts with a bot token through chat.postMessage.
type BotPoster struct {
	Client  ChatPoster // a *slack.Client made with the bot token, without OptionRetry: Retrier retries
	Channel string
}

// Post sends msg to the channel, with the same text, blocks and unfurl
// settings a webhook would get.
func (p BotPoster) Post(ctx context.Context, msg slack.WebhookMessage) error {
	if p.Channel == "" {
		return errors.New("bot poster: no channel")
	}
	opts := []slack.MsgOption{
		// The text is already escaped where it needs to be: escaping it
		// again would show &amp;lt; to people.
		slack.MsgOptionText(msg.Text, false),
		slack.MsgOptionParse(false),
	}
	if msg.Blocks != nil {
		opts = append(opts, slack.MsgOptionBlocks(msg.Blocks.BlockSet...))
	}
	if msg.UnfurlLinks == nil || !*msg.UnfurlLinks {
		opts = append(opts, slack.MsgOptionDisableLinkUnfurl())
	}
	if msg.UnfurlMedia == nil || !*msg.UnfurlMedia {
		opts = append(opts, slack.MsgOptionDisableMediaUnfurl())
	}
	if _, _, err := p.Client.PostMessageContext(ctx, p.Channel, opts...); err != nil {
		return fmt.Errorf("chat.postMessage to %s: %w", p.Channel, err)
	}
	return nil
}

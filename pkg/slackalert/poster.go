package slackalert

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/slack-go/slack"
)

// Poster sends one message to Slack.
type Poster interface {
	// Post sends msg. key names what msg delivers (a finding's
	// state.PostedKey), the same on every attempt; a poster that can
	// attaches it to the message, so that a Finder can find it again.
	Post(ctx context.Context, key string, msg slack.WebhookMessage) error
}

// Finder reads Slack back: whether a message a Poster sent with key is
// in the channel.
type Finder interface {
	// Posted reports whether a message carrying key was posted at or
	// after since.
	Posted(ctx context.Context, key string, since time.Time) (bool, error)
}

// WebhookPoster posts to an incoming webhook.
type WebhookPoster struct {
	URL    string
	Client *http.Client // nil means http.DefaultClient
}

// Post sends msg to the webhook; key is not sent: an incoming webhook
// cannot be read back. Errors never contain the webhook URL, whose path
// is the secret.
func (p WebhookPoster) Post(ctx context.Context, _ string, msg slack.WebhookMessage) error {
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
	GetConversationHistoryContext(ctx context.Context, params *slack.GetConversationHistoryParameters) (*slack.GetConversationHistoryResponse, error)
}

// MetadataEventType is the event_type of the metadata BotPoster attaches
// to each message; its event_payload holds MetadataKey.
const MetadataEventType = "lambdawatch_alert"

// MetadataKey is the event_payload field holding the hex SHA-256 of the
// message's key: fixed in length, and no finding's details in metadata.
const MetadataKey = "key_sha256"

// historyLimit is how many of the channel's newest messages a read-back
// reads, in one call: Slack allows apps outside its Marketplace 15 a
// call, and one call a minute. A message posted in a window busier than
// that is not found, and posted again.
const historyLimit = 15

// BotPoster posts with a bot token through chat.postMessage, and reads
// the channel back through conversations.history (Finder).
type BotPoster struct {
	Client  ChatPoster // a *slack.Client made with the bot token, without OptionRetry: Retrier retries
	Channel string     // the channel's ID (C0123456789): conversations.history takes no name
}

// Post sends msg to the channel, with the same text, blocks and unfurl
// settings a webhook would get, and key's digest as metadata.
func (p BotPoster) Post(ctx context.Context, key string, msg slack.WebhookMessage) error {
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
	if key != "" {
		opts = append(opts, slack.MsgOptionMetadata(slack.SlackMetadata{
			EventType:    MetadataEventType,
			EventPayload: map[string]any{MetadataKey: KeyDigest(key)},
		}))
	}
	if _, _, err := p.Client.PostMessageContext(ctx, p.Channel, opts...); err != nil {
		return fmt.Errorf("chat.postMessage to %s: %w", p.Channel, err)
	}
	return nil
}

// Posted reads the channel's messages since since, newest first, for one
// whose metadata carries key. It needs the channels:history scope
// (groups:history for a private channel); without it the error is
// Slack's missing_scope.
func (p BotPoster) Posted(ctx context.Context, key string, since time.Time) (bool, error) {
	if p.Channel == "" {
		return false, errors.New("bot poster: no channel")
	}
	want := KeyDigest(key)
	params := &slack.GetConversationHistoryParameters{
		ChannelID:          p.Channel,
		Oldest:             SlackTS(since),
		Inclusive:          true,
		Limit:              historyLimit,
		IncludeAllMetadata: true,
	}
	resp, err := p.Client.GetConversationHistoryContext(ctx, params)
	if err != nil {
		return false, fmt.Errorf("conversations.history of %s: %w", p.Channel, err)
	}
	for _, m := range resp.Messages {
		if m.Metadata.EventType == MetadataEventType && m.Metadata.EventPayload[MetadataKey] == want {
			return true, nil
		}
	}
	if resp.HasMore {
		return false, fmt.Errorf("conversations.history of %s: more than %d messages since %s, the oldest not read", p.Channel, historyLimit, params.Oldest)
	}
	return false, nil
}

// KeyDigest is the hex SHA-256 of key: what BotPoster's metadata holds.
func KeyDigest(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// SlackTS is t as a Slack message timestamp: seconds and microseconds.
func SlackTS(t time.Time) string {
	us := t.UnixMicro()
	return fmt.Sprintf("%d.%06d", us/1e6, us%1e6)
}

package slackalert

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/url"
	"regexp"
	"strings"

	"github.com/slack-go/slack"
)

// mrkdwnTokenRE finds Slack's <...> control sequences: links, mentions.
var mrkdwnTokenRE = regexp.MustCompile(`<([^<>|]*)(?:\|([^<>]*))?>`)

var unescaper = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&")

var emojiText = strings.NewReplacer(
	":red_circle:", "🔴", ":large_orange_circle:", "🟠", ":large_yellow_circle:", "🟡",
	":large_blue_circle:", "🔵", ":white_circle:", "⚪",
)

// renderMrkdwn shows mrkdwn roughly as Slack would: links as "label
// (url)", mentions as @name, escapes undone. Escaped attacker text thus
// shows as the literal text Slack would show.
func renderMrkdwn(s string) string {
	s = mrkdwnTokenRE.ReplaceAllStringFunc(s, func(tok string) string {
		m := mrkdwnTokenRE.FindStringSubmatch(tok)
		target, label := m[1], m[2]
		switch {
		case strings.HasPrefix(target, "!"), strings.HasPrefix(target, "@"), strings.HasPrefix(target, "#"):
			// A mention: Slack would ping someone. Mark it loudly.
			return "[MENTION " + target + "]"
		case label != "":
			return label + " (" + target + ")"
		}
		return target
	})
	return unescaper.Replace(s)
}

// RenderText shows a message as plain text for a terminal: the header,
// each section and its fields, context lines, then the fallback text.
func RenderText(msg slack.WebhookMessage) string {
	var b strings.Builder
	if msg.Blocks != nil {
		for _, blk := range msg.Blocks.BlockSet {
			switch blk := blk.(type) {
			case *slack.HeaderBlock:
				if blk.Text != nil {
					h := emojiText.Replace(blk.Text.Text)
					fmt.Fprintf(&b, "%s\n%s\n", h, strings.Repeat("=", min(width(h), 72)))
				}
			case *slack.SectionBlock:
				if blk.Text != nil {
					fmt.Fprintf(&b, "%s\n", renderText(blk.Text))
				}
				for _, f := range blk.Fields {
					label, value, ok := strings.Cut(renderText(f), "\n")
					if !ok {
						fmt.Fprintf(&b, "  %s\n", label)
						continue
					}
					label = strings.Trim(label, "*")
					fmt.Fprintf(&b, "  %-17s %s\n", label+":", strings.ReplaceAll(value, "\n", "\n"+strings.Repeat(" ", 20)))
				}
			case *slack.ContextBlock:
				for _, e := range blk.ContextElements.Elements {
					if t, ok := e.(*slack.TextBlockObject); ok {
						fmt.Fprintf(&b, "  (%s)\n", renderText(t))
					}
				}
			case *slack.DividerBlock:
				b.WriteString("----\n")
			default:
				fmt.Fprintf(&b, "[%s block]\n", blk.BlockType())
			}
		}
	}
	fmt.Fprintf(&b, "text: %s\n", renderMrkdwn(emojiText.Replace(msg.Text)))
	return b.String()
}

func renderText(t *slack.TextBlockObject) string {
	s := emojiText.Replace(t.Text)
	if t.Type == slack.MarkdownType {
		return renderMrkdwn(s)
	}
	return s
}

// ParsePayload reads a message as Slack receives it: the JSON body of an
// incoming webhook, or the form of chat.postMessage. A fake Slack (the
// local demo, tests) can show what it got with RenderText.
func ParsePayload(contentType string, body []byte) (slack.WebhookMessage, error) {
	var msg slack.WebhookMessage
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return msg, fmt.Errorf("content type %q: %w", contentType, err)
	}
	switch mt {
	case "application/json":
		if err := json.Unmarshal(body, &msg); err != nil {
			return msg, fmt.Errorf("webhook payload: %w", err)
		}
	case "application/x-www-form-urlencoded":
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return msg, fmt.Errorf("chat.postMessage form: %w", err)
		}
		msg.Channel = form.Get("channel")
		msg.Text = form.Get("text")
		msg.Parse = form.Get("parse")
		if v := form.Get("blocks"); v != "" {
			var blocks slack.Blocks
			if err := json.Unmarshal([]byte(v), &blocks); err != nil {
				return msg, fmt.Errorf("chat.postMessage blocks: %w", err)
			}
			msg.Blocks = &blocks
		}
		for name, dst := range map[string]**bool{"unfurl_links": &msg.UnfurlLinks, "unfurl_media": &msg.UnfurlMedia} {
			if v := form.Get(name); v != "" {
				b := v == "true"
				*dst = &b
			}
		}
	default:
		return msg, fmt.Errorf("content type %q: want application/json or a form", mt)
	}
	return msg, nil
}

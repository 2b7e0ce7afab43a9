package slackalert

import (
	"errors"
	"fmt"

	"github.com/slack-go/slack"
)

// CheckLimits reports every way msg breaks Slack's Block Kit limits (block
// count, header, section text and fields, context elements) or leaves a
// text empty, which Slack also rejects. Build and BuildSummary always pass
// it; it guards changes to them and checks messages made elsewhere.
func CheckLimits(msg slack.WebhookMessage) error {
	var errs []error
	if msg.Text == "" {
		errs = append(errs, errors.New("text: empty fallback text"))
	}
	if msg.Blocks == nil {
		return errors.Join(errs...)
	}
	bs := msg.Blocks.BlockSet
	if len(bs) > MaxBlocks {
		errs = append(errs, fmt.Errorf("%d blocks, at most %d", len(bs), MaxBlocks))
	}
	text := func(where string, t *slack.TextBlockObject, limit int) {
		switch {
		case t == nil:
			errs = append(errs, fmt.Errorf("%s: no text", where))
		case t.Text == "":
			errs = append(errs, fmt.Errorf("%s: empty text", where))
		case width(t.Text) > limit:
			errs = append(errs, fmt.Errorf("%s: %d characters, at most %d", where, width(t.Text), limit))
		}
	}
	for i, b := range bs {
		where := fmt.Sprintf("block %d (%s)", i, b.BlockType())
		switch b := b.(type) {
		case *slack.HeaderBlock:
			text(where, b.Text, MaxHeader)
			if b.Text != nil && b.Text.Type != slack.PlainTextType {
				errs = append(errs, fmt.Errorf("%s: header text must be plain_text", where))
			}
		case *slack.SectionBlock:
			if b.Text == nil && len(b.Fields) == 0 {
				errs = append(errs, fmt.Errorf("%s: neither text nor fields", where))
			}
			if b.Text != nil {
				text(where+" text", b.Text, MaxSectionText)
			}
			if len(b.Fields) > MaxFields {
				errs = append(errs, fmt.Errorf("%s: %d fields, at most %d", where, len(b.Fields), MaxFields))
			}
			for j, f := range b.Fields {
				text(fmt.Sprintf("%s field %d", where, j), f, MaxField)
			}
		case *slack.ContextBlock:
			if len(b.ContextElements.Elements) == 0 {
				errs = append(errs, fmt.Errorf("%s: no elements", where))
			}
			for j, e := range b.ContextElements.Elements {
				if t, ok := e.(*slack.TextBlockObject); ok {
					text(fmt.Sprintf("%s element %d", where, j), t, MaxContextText)
				}
			}
		}
	}
	return errors.Join(errs...)
}

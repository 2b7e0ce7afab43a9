package slackalert

import (
	"strings"
	"testing"

	"github.com/slack-go/slack"
)

func TestCheckLimits(t *testing.T) {
	long := func(n int) string { return strings.Repeat("x", n) }
	mk := func(bs ...slack.Block) slack.WebhookMessage {
		return slack.WebhookMessage{Text: "t", Blocks: &slack.Blocks{BlockSet: bs}}
	}
	var fields []*slack.TextBlockObject
	for range 11 {
		fields = append(fields, mrkdwn("f"))
	}
	var many []slack.Block
	for range 51 {
		many = append(many, section("s"))
	}
	for _, tc := range []struct {
		name, wantErr string
		msg           slack.WebhookMessage
	}{
		{"ok", "", mk(slack.NewHeaderBlock(plainText(long(150))), section(long(3000)))},
		{"emoji counts two", "151 characters", mk(slack.NewHeaderBlock(plainText(long(149) + "🔥")))},
		{"header", "151 characters, at most 150", mk(slack.NewHeaderBlock(plainText(long(151))))},
		{"mrkdwn header", "must be plain_text", mk(slack.NewHeaderBlock(mrkdwn("x")))},
		{"section", "block 0 (section) text: 3001 characters", mk(section(long(3001)))},
		{"fields", "11 fields, at most 10", mk(&slack.SectionBlock{Type: slack.MBTSection, Fields: fields})},
		{"field", "field 0: 2001 characters", mk(&slack.SectionBlock{Type: slack.MBTSection, Fields: []*slack.TextBlockObject{mrkdwn(long(2001))}})},
		{"empty section", "neither text nor fields", mk(&slack.SectionBlock{Type: slack.MBTSection})},
		{"empty text", "empty text", mk(section(""))},
		{"blocks", "51 blocks, at most 50", mk(many...)},
		{"no fallback", "empty fallback text", slack.WebhookMessage{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckLimits(tc.msg)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			}
		})
	}
}

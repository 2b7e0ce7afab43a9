package slackalert

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

func TestRenderMrkdwn(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"&lt;!channel&gt; &amp;lt;", "<!channel> &lt;"},
		{"<https://x.example/a?b=1|label>", "label (https://x.example/a?b=1)"},
		{"<https://x.example>", "https://x.example"},
		{"<!here> <@U1>", "[MENTION !here] [MENTION @U1]"},
	} {
		if got := renderMrkdwn(tc.in); got != tc.want {
			t.Errorf("renderMrkdwn(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParsePayload(t *testing.T) {
	msg := Build(injected())
	raw, err := json.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParsePayload("application/json; charset=utf-8", raw)
	if err != nil {
		t.Fatal(err)
	}
	if RenderText(got) != RenderText(msg) {
		t.Errorf("JSON round trip changed the message")
	}
	blocks, _ := json.Marshal(msg.Blocks)
	form := url.Values{"channel": {"C1"}, "text": {msg.Text}, "blocks": {string(blocks)}, "unfurl_links": {"false"}}
	got, err = ParsePayload("application/x-www-form-urlencoded", []byte(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	if RenderText(got) != RenderText(msg) || got.Channel != "C1" || got.UnfurlLinks == nil || *got.UnfurlLinks {
		t.Errorf("form round trip changed the message")
	}
	for _, tc := range []struct{ ct, body, wantErr string }{
		{"text/plain", "x", "want application/json"},
		{"", "x", "content type"},
		{"application/json", "{", "webhook payload"},
		{"application/x-www-form-urlencoded", "blocks=%5B", "blocks"},
	} {
		if _, err := ParsePayload(tc.ct, []byte(tc.body)); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("ParsePayload(%q, %q) error %v, want %q", tc.ct, tc.body, err, tc.wantErr)
		}
	}
}

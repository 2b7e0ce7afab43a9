package slackalert

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/slack-go/slack"

	"github.com/lambdawatch/lambdawatch/pkg/detect"
)

// group counts findings that share a key (a rule or an actor).
type group struct {
	key   string
	count int
	worst detect.Severity
}

// groupBy counts fs by key, worst severity first, then most findings,
// then key, so the order is stable.
func groupBy(fs []detect.Finding, key func(detect.Finding) string) []group {
	idx := map[string]int{}
	var gs []group
	for _, f := range fs {
		k := key(f)
		i, ok := idx[k]
		if !ok {
			i = len(gs)
			idx[k] = i
			gs = append(gs, group{key: k, worst: f.Severity})
		}
		gs[i].count++
		gs[i].worst = max(gs[i].worst, f.Severity)
	}
	slices.SortFunc(gs, func(a, b group) int {
		return cmp.Or(cmp.Compare(b.worst, a.worst), cmp.Compare(b.count, a.count), strings.Compare(a.key, b.key))
	})
	return gs
}

// severityCounts is "3 CRITICAL, 5 HIGH, 4 MEDIUM", worst first.
func severityCounts(fs []detect.Finding) string {
	counts := map[detect.Severity]int{}
	for _, f := range fs {
		counts[f.Severity]++
	}
	var parts []string
	other := len(fs)
	for s := detect.Critical; s >= detect.Info; s-- {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
			other -= counts[s]
		}
	}
	// Severities outside the known range cannot come from DecodeFinding,
	// but a caller may build findings by hand.
	if other > 0 {
		parts = append(parts, fmt.Sprintf("%d other", other))
	}
	return strings.Join(parts, ", ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// BuildSummary makes one message that stands for many findings: how many
// alerts it covers and their counts by rule and by actor, worst severity
// first. detailed says how many of them are posted in full besides (the
// CRITICAL ones); the summary says so.
func BuildSummary(fs []detect.Finding, detailed int) slack.WebhookMessage {
	n := plural(len(fs), "alert", "alerts")
	counts := severityCounts(fs)
	header := plain("lambdawatch: "+n+": "+counts, MaxHeader)

	byRule := groupBy(fs, func(f detect.Finding) string { return f.Rule })
	ruleLines := make([]string, len(byRule))
	for i, g := range byRule {
		r, _ := ruleInfo(detect.Finding{Rule: g.key})
		ruleLines[i] = fmt.Sprintf("• %s *%d* × %s `%s` (worst %s)", emoji(g.worst), g.count, Escape(r.Title), r.ID, g.worst)
	}
	byActor := groupBy(fs, func(f detect.Finding) string { return f.Actor })
	actorLines := make([]string, len(byActor))
	for i, g := range byActor {
		actorLines[i] = fmt.Sprintf("• %s *%d* × %s (worst %s)", emoji(g.worst), g.count, esc(orDash(g.key), maxInline), g.worst)
	}

	ruleHead, actorHead := "*By rule*\n", "*By actor*\n"
	blocks := []slack.Block{
		slack.NewHeaderBlock(plainText(header)),
		section(fmt.Sprintf("This message covers *%s* from one batch: %s.", n, counts)),
		section(ruleHead + joinWithin(ruleLines, "\n", MaxSectionText-width(ruleHead))),
		section(actorHead + joinWithin(actorLines, "\n", MaxSectionText-width(actorHead))),
	}

	ids := make([]string, len(fs))
	for i, f := range fs {
		ids[i] = esc(orDash(f.EventID), 64)
	}
	note := "Each alert is in the logs of the Slack function with its event ID."
	if detailed > 0 {
		note = fmt.Sprintf("The %s %s posted in full below; the rest are in the logs of the Slack function.",
			plural(detailed, "CRITICAL alert", "CRITICAL alerts"), map[bool]string{true: "is", false: "are"}[detailed == 1])
	}
	idHead := "Event IDs: "
	blocks = append(blocks,
		slack.NewContextBlock("", mrkdwn(note)),
		slack.NewContextBlock("", mrkdwn(idHead+joinWithin(ids, ", ", 1000-width(idHead)))),
	)

	text := "lambdawatch: " + n + ": " + counts
	if len(byRule) > 0 {
		r, _ := ruleInfo(detect.Finding{Rule: byRule[0].key})
		text += fmt.Sprintf("; most severe: %s (%d)", r.ID, byRule[0].count)
	}
	return slack.WebhookMessage{
		Text:        text,
		Blocks:      &slack.Blocks{BlockSet: blocks},
		Parse:       "none",
		UnfurlLinks: new(false),
		UnfurlMedia: new(false),
	}
}

package stacks

// Names are the physical names of lambdawatch's resources, all starting
// with the monitor prefix: the tamper rules recognise lambdawatch's own
// functions, rules, topics and queues by it, and two deployments with
// different prefixes can share an account and region.
//
// Named resources cannot be replaced in place: a change CloudFormation can
// only make by replacement needs a new prefix.
type Names struct {
	Prefix string

	MonitorFunction string
	SlackFunction   string
	LambdaRule      string // the Lambda calls, on the default bus and the central bus
	TamperRule      string // the calls that could blind lambdawatch, on both buses
	AlertTopic      string
	AlarmTopic      string
	SlackQueue      string
	MonitorDLQ      string
	SlackDLQ        string
	StateTable      string
	AuditFunction   string
	AuditSchedule   string
	AuditQueue      string
	AuditDLQ        string
	// AuditFunctionRole is the audit function's role, by name, so that
	// the member accounts' audit role can trust it; AuditRole is that
	// role in each member account.
	AuditFunctionRole string
	AuditRole         string
	// CentralBus is the organization's bus in the central account; the
	// forwarders build its ARN from it.
	CentralBus string

	// The forwarders' resources, in every account and region.
	ForwardLambdaRule string
	ForwardTamperRule string
	ForwardDLQ        string
}

// NamesFor builds the names on a prefix.
func NamesFor(prefix string) Names {
	n := func(s string) string { return prefix + "-" + s }
	return Names{
		Prefix:            prefix,
		MonitorFunction:   n("monitor"),
		SlackFunction:     n("slack"),
		LambdaRule:        n("lambda-calls"),
		TamperRule:        n("tamper"),
		AlertTopic:        n("alerts"),
		AlarmTopic:        n("alarms"),
		SlackQueue:        n("slack"),
		MonitorDLQ:        n("monitor-dlq"),
		SlackDLQ:          n("slack-dlq"),
		StateTable:        n("state"),
		AuditFunction:     n("audit"),
		AuditSchedule:     n("audit"),
		AuditQueue:        n("audit"),
		AuditDLQ:          n("audit-dlq"),
		AuditFunctionRole: n("audit-function"),
		AuditRole:         n("audit"),
		CentralBus:        prefix,
		ForwardLambdaRule: n("forward-lambda-calls"),
		ForwardTamperRule: n("forward-tamper"),
		ForwardDLQ:        n("forward-dlq"),
	}
}

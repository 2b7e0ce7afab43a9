package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

// Stack names. The monitor stack keeps its name in both layouts, so that a
// single-account deployment grows into the central one in place.
const (
	MonitorStackName   = "LambdaWatch"
	forwarderStackName = "LambdaWatchForwarder-"
)

// ForwarderStackName names the forwarder stack of a region.
func ForwarderStackName(region string) string { return forwarderStackName + region }

// Stacks are what Build made.
type Stacks struct {
	Monitor *MonitorStack
	// Forwarders, one per region of Config.Regions, in that order; empty
	// outside the organization layout.
	Forwarders []*ForwarderStack
}

// Build adds lambdawatch's stacks to app. Single account: the monitor stack,
// environment-agnostic, so that it synthesizes without credentials and
// deploys wherever `cdk deploy` points. Organization: the monitor stack
// pinned to the central account and region, plus a forwarder stack per
// region pinned to that region only, so that one `cdk deploy` per account
// covers every region, and StackSets can deploy any of them (they are the
// same template) to every account.
func Build(app awscdk.App, cfg Config, assets Assets) *Stacks {
	awscdk.Tags_Of(app).Add(jsii.String("project"), jsii.String("lambdawatch"), nil)
	out := &Stacks{}
	props := &MonitorStackProps{Config: cfg, Assets: assets, Central: cfg.Organization()}
	if cfg.Organization() {
		props.Env = &awscdk.Environment{
			Account: jsii.String(cfg.CentralAccountID),
			Region:  jsii.String(cfg.CentralRegion),
		}
	}
	out.Monitor = NewMonitorStack(app, MonitorStackName, props)
	if !cfg.Organization() {
		return out
	}
	for _, region := range cfg.Regions {
		out.Forwarders = append(out.Forwarders, NewForwarderStack(app, ForwarderStackName(region), &ForwarderStackProps{
			StackProps:       awscdk.StackProps{Env: &awscdk.Environment{Region: jsii.String(region)}},
			CentralAccountID: cfg.CentralAccountID,
			CentralRegion:    cfg.CentralRegion,
			Names:            cfg.Names(),
			Audit:            cfg.Audit,
		}))
	}
	return out
}

package stacks_test

import (
	"errors"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestCfnLint runs cfn-lint over every synthesized template: it knows
// CloudFormation's resource specifications, which the CDK's types do not
// fully enforce. Warnings are shown; an error (exit status bit 2) fails.
func TestCfnLint(t *testing.T) {
	bin, err := exec.LookPath("cfn-lint")
	if err != nil {
		t.Fatal("cfn-lint is not installed: python3 -m pip install cfn-lint")
	}
	for _, l := range []*layout{single, variant, org, audited, auditedOrg} {
		files, err := filepath.Glob(filepath.Join(l.outdir, "*.template.json"))
		if err != nil || len(files) == 0 {
			t.Fatalf("%s: no templates in %s: %v", l.name, l.outdir, err)
		}
		out, err := exec.Command(bin, append([]string{"--format", "parseable"}, files...)...).CombinedOutput()
		var exit *exec.ExitError
		switch {
		case err == nil:
		case errors.As(err, &exit) && exit.ExitCode()&2 == 0:
			t.Logf("%s: cfn-lint warnings:\n%s", l.name, out)
		default:
			t.Errorf("%s: cfn-lint: %v\n%s", l.name, err, out)
		}
	}
}

// Package motostate gives the tests of the delivery state and of Security
// Hub moto's server (internal/motoserver), a table as the stack makes it,
// and clients of their own.
package motostate

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/lambdawatch/lambdawatch/internal/motoserver"
)

// Region is the region tests sign for; moto serves every region.
const Region = "eu-west-1"

// Account is the account moto answers as for any access key.
const Account = motoserver.DefaultAccount

// Start runs moto_server for the test and returns its endpoint URL; a
// missing moto_server fails the test, saying how to install it.
func Start(t testing.TB) string {
	t.Helper()
	return motoserver.Start(t).URL
}

// Config is an SDK configuration that signs for Region with a throwaway
// key; each client sets its BaseEndpoint to the URL Start returned.
func Config() aws.Config {
	return aws.Config{
		Region:      Region,
		Credentials: credentials.NewStaticCredentialsProvider("AKIAMOTOTESTKEY00000", "secret", ""),
	}
}

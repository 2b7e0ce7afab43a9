package awsid

import (
	"slices"
	"strings"
)

// Partitions: each region belongs to one, and ARNs start with it.
const (
	PartitionAWS      = "aws"        // the commercial regions
	PartitionChina    = "aws-cn"     // cn-north-1, cn-northwest-1
	PartitionGovCloud = "aws-us-gov" // us-gov-west-1, us-gov-east-1
	PartitionISO      = "aws-iso"    // us-iso-east-1
	PartitionISOB     = "aws-iso-b"  // us-isob-east-1
	PartitionISOE     = "aws-iso-e"  // eu-isoe-west-1
	PartitionISOF     = "aws-iso-f"  // us-isof-south-1
	PartitionEUSC     = "aws-eusc"   // the AWS European Sovereign Cloud: eusc-de-east-1
)

// IsPartition reports whether s names a partition.
func IsPartition(s string) bool {
	switch s {
	case PartitionAWS, PartitionChina, PartitionGovCloud, PartitionISO,
		PartitionISOB, PartitionISOE, PartitionISOF, PartitionEUSC:
		return true
	}
	return false
}

// commercial are the first parts of the commercial partition's region
// names, as the SDK's partition table has them.
var commercial = []string{"us", "eu", "ap", "sa", "ca", "me", "af", "il", "mx"}

// Partition returns the partition of a region name, and whether s is one.
// A region name is lower case: a geography, a direction and a number of
// one or two digits (eu-west-1, ap-southeast-5, mx-central-1); the
// partitions other than aws add a word after the geography (us-gov-west-1,
// us-iso-east-1, us-isob-east-1, us-isof-south-1, eu-isoe-west-1,
// eusc-de-east-1), and China's start with cn. These are the region
// patterns of aws-sdk-go-v2's partition table (regionRegex), limited to
// lower-case letters: a region of a geography the table does not know
// (xx-east-1) is refused, as are look-alikes (us-east, US-EAST-1,
// us-east-1a, eu-west-1.example).
func Partition(s string) (string, bool) {
	// Longest: eusc-de-northeast-12 and the like; nothing longer is a region.
	if len(s) > 32 {
		return "", false
	}
	// Split by hand: archive walks check a region in every key.
	var parts [4]string
	n := 0
	for rest, more := s, true; more; n++ {
		if n == len(parts) {
			return "", false
		}
		parts[n], rest, more = strings.Cut(rest, "-")
	}
	if n < 3 || !regionNumber(parts[n-1]) {
		return "", false
	}
	for _, p := range parts[:n-1] {
		if !lower(p) {
			return "", false
		}
	}
	geo := parts[0]
	if n == 3 {
		switch {
		case geo == "cn":
			return PartitionChina, true
		case slices.Contains(commercial, geo):
			return PartitionAWS, true
		}
		return "", false
	}
	switch geo + "-" + parts[1] {
	case "us-gov":
		return PartitionGovCloud, true
	case "us-iso":
		return PartitionISO, true
	case "us-isob":
		return PartitionISOB, true
	case "us-isof":
		return PartitionISOF, true
	case "eu-isoe":
		return PartitionISOE, true
	case "eusc-de":
		return PartitionEUSC, true
	}
	return "", false
}

// IsRegion reports whether s is a region name of any partition (see
// Partition).
func IsRegion(s string) bool {
	_, ok := Partition(s)
	return ok
}

// regionNumber: 1 to 99, without a leading zero.
func regionNumber(s string) bool {
	return len(s) >= 1 && len(s) <= 2 && s[0] != '0' && digits(s)
}

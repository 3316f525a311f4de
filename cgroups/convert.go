package cgroups

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Values v1 and v2 express differently are converted the way current runc
// (opencontainers/cgroups) and crun do, so a container gets the same limits
// whichever runtime an engine picks.

// sharesToWeight maps cpu.shares [2, 262144] (default 1024) onto cpu.weight
// [1, 10000] (default 100). The curve is the quadratic in log2(shares) that
// runc 1.3+/crun 1.23+ use: it hits 1, 100 and 10000 exactly at 2, 1024 and
// 262144, where the older linear formula turned the default 1024 into 39.
// 0 means unset.
func sharesToWeight(shares uint64) uint64 {
	switch {
	case shares == 0:
		return 0
	case shares <= 2:
		return 1
	case shares >= 262144:
		return 10000
	}
	l := math.Log2(float64(shares))
	exp := (l*l+125*l)/612.0 - 7.0/34.0
	return uint64(math.Ceil(math.Pow(10, exp)))
}

// blkioWeightToIOWeight maps blkio.weight [10, 1000] linearly onto
// io.weight [1, 10000]. 0 means unset.
func blkioWeightToIOWeight(w uint16) uint64 {
	if w == 0 {
		return 0
	}
	if w < 10 {
		w = 10
	}
	return 1 + (uint64(w)-10)*9999/990
}

// swapToV2 turns the OCI memory.swap (memory+swap, v1 semantics) into a
// memory.swap.max value (swap alone), given the memory limit of the same
// request. -1 is "max", 0 is "leave alone".
func swapToV2(swap, memory int64) (int64, error) {
	switch {
	case memory == -1 && swap == 0:
		// Unlimited memory with no swap given: v1 would leave memsw
		// unlimited too, so lift the swap limit.
		return -1, nil
	case swap == -1 || swap == 0:
		return swap, nil
	case memory == 0 || memory == -1:
		return 0, errors.New("a swap limit needs a memory limit")
	case memory < 0:
		return 0, fmt.Errorf("invalid memory limit %d", memory)
	case swap < memory:
		return 0, fmt.Errorf("memory+swap limit %d is below the memory limit %d", swap, memory)
	}
	return swap - memory, nil
}

// v2Limit formats a byte or count limit for v2: negative is "max".
func v2Limit(v int64) string {
	if v < 0 {
		return "max"
	}
	return strconv.FormatInt(v, 10)
}

// v2CPUMax computes the new cpu.max ("$QUOTA $PERIOD") from the current
// content and the fields of the request; a field not given keeps its
// current value. A quota of 0 or less means no limit ("max").
func v2CPUMax(current string, quota *int64, period *uint64) string {
	q, p := "max", "100000"
	if f := strings.Fields(current); len(f) == 2 {
		q, p = f[0], f[1]
	}
	if quota != nil {
		q = "max"
		if *quota > 0 {
			q = strconv.FormatInt(*quota, 10)
		}
	}
	if period != nil && *period != 0 {
		p = strconv.FormatUint(*period, 10)
	}
	return q + " " + p
}

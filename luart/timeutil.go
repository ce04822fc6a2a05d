package luart

import (
	"math"
	"time"
)

func secondsToDuration(s float64) time.Duration {
	if s >= float64(math.MaxInt64)/float64(time.Second) {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(s * float64(time.Second))
}

func newTimer(d time.Duration) *time.Timer { return time.NewTimer(d) }

package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/kumopolicy/kumopolicy/modules/kumo/logrecord"
	"github.com/kumopolicy/kumopolicy/modules/tsa/automation"
)

// BenchmarkBatch measures Process with the store attached: one bbolt
// transaction and fsync per batch, each record creating a new entry. The
// "memory" variant has no journal, for comparison.
func BenchmarkBatch(b *testing.B) {
	for _, size := range []int{16, 1024} {
		for _, mode := range []string{"bbolt", "memory"} {
			b.Run(fmt.Sprintf("%s/%d", mode, size), func(b *testing.B) {
				rs, err := compileRules(b.TempDir())
				if err != nil {
					b.Fatal(err)
				}
				e := automation.New(rs, nil)
				if mode == "bbolt" {
					s, err := Open(b.TempDir(), Options{})
					if err != nil {
						b.Fatal(err)
					}
					defer s.Close()
					s.Restore(e, at)
				}
				batches := make([][]*logrecord.Record, b.N)
				for n := range batches {
					batches[n] = make([]*logrecord.Record, size)
					for i := range batches[n] {
						if batches[n][i], err = newRecord(at, "tenant-me", fmt.Sprintf("t%d-%d@foo.example", n, i)); err != nil {
							b.Fatal(err)
						}
					}
				}
				b.ResetTimer()
				for n := 0; n < b.N; n++ {
					if _, errs := e.Process(context.Background(), at.Add(time.Second), batches[n]); len(errs) != 0 {
						b.Fatal(errs)
					}
				}
			})
		}
	}
}

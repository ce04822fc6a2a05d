// Command tsa-loadgen posts the log record of KumoMTA's tsa-torture.js k6
// script to a TSA daemon's POST /publish_log_v1 from N concurrent
// keep-alive clients, and reports requests per second and latency
// percentiles. It only targets loopback addresses.
//
//	tsa-loadgen -url http://127.0.0.1:8008/publish_log_v1 -c 100 -d 30s
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"

	"github.com/kumopolicy/kumopolicy/internal/tsaload"
)

func main() {
	u := flag.String("url", "http://127.0.0.1:8008/publish_log_v1", "publish URL (loopback only)")
	c := flag.Int("c", tsaload.DefaultClients, "concurrent keep-alive clients")
	d := flag.Duration("d", 0, fmt.Sprintf("run duration (with neither -d nor -n: %v; at most %v)", tsaload.DefaultDuration, tsaload.MaxDuration))
	n := flag.Int64("n", 0, "number of requests (0: no count limit)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := tsaload.Run(ctx, tsaload.Config{URL: *u, Clients: *c, Duration: *d, Count: *n})
	fmt.Println(res)
	for code, k := range res.Status {
		fmt.Printf("  HTTP %d: %d\n", code, k)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tsa-loadgen:", err)
		os.Exit(1)
	}
}

// The Go twin of bench_scale's BM_ColdSleepers: N goroutines, each sleeping a uniformly random
// 0-1000 ms, all started before the first deadline, in a fresh process with GOMAXPROCS=1.
// Prints the same counters as the C++ benchmark: how long after the last deadline the last
// goroutine finished, and the CPU time of the whole run.
//
// Build and run (not part of the Meson build; needs Debian's golang-go):
//   go build -o build-release/perf/go_sleepers perf/go/sleepers.go
//   GOMAXPROCS=1 build-release/perf/go_sleepers 100000
package main

import (
	"fmt"
	"math/rand"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
)

func cpuSeconds() float64 {
	var r syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &r)
	return float64(r.Utime.Sec+r.Stime.Sec) + float64(r.Utime.Usec+r.Stime.Usec)/1e6
}

func main() {
	n := 100000
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}
	rng := rand.New(rand.NewSource(42))
	var wg sync.WaitGroup
	wg.Add(n)
	start := time.Now()
	last := start
	for i := 0; i < n; i++ {
		d := time.Duration(rng.Intn(1001)) * time.Millisecond
		if start.Add(d).After(last) {
			last = start.Add(d)
		}
		go func() {
			time.Sleep(d)
			wg.Done()
		}()
	}
	wg.Wait()
	fmt.Printf("late_ms=%.1f cpu_s=%.3f\n", float64(time.Since(last).Microseconds())/1000, cpuSeconds())
}

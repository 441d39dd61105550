// Go's net/http answering "Hello, World!": the Go baseline of bench_http's several-cores
// run (BM_Http_KeepAlive_Loops). Not part of the Meson build; build it with Debian's golang-go:
//   go build -o build-release/perf/go_hello perf/go/hello.go
// and name it in SPINDLE_GO_HELLO. Usage: go_hello PORT (GOMAXPROCS from the environment).
package main

import (
	"net/http"
	"os"
)

func main() {
	body := []byte("Hello, World!")
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write(body)
	})
	if err := http.ListenAndServe("127.0.0.1:"+os.Args[1], nil); err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(1)
	}
}

// TechEmpower's six tests on Go's net/http with database/sql and lib/pq: bench_web's Go peer,
// in the standard library's style (prepared statements, encoding/json, html/template), built
// by bench_web in GOPATH mode against Debian's golang-github-lib-pq-dev:
//   GOPATH=/usr/share/gocode GO111MODULE=off go build -o go_techempower perf/go/techempower.go
// Usage: go_techempower PORT, with SPINDLE_PG naming the database (libpq keywords) and
// GOMAXPROCS from the environment.
package main

import (
	"database/sql"
	"encoding/json"
	"html/template"
	"log"
	"math/rand"
	"net/http"
	"os"
	"sort"
	"strconv"

	"github.com/lib/pq"
)

type World struct {
	ID           int32 `json:"id"`
	RandomNumber int32 `json:"randomNumber"`
}

type Fortune struct {
	ID      int32
	Message string
}

var (
	db         *sql.DB
	readWorld  *sql.Stmt
	readAll    *sql.Stmt
	writeWorld *sql.Stmt
	page       = template.Must(template.New("fortunes").Parse(
		"<!DOCTYPE html><html><head><title>Fortunes</title></head><body><table>" +
			"<tr><th>id</th><th>message</th></tr>{{range .}}<tr><td>{{.ID}}</td><td>{{.Message}}</td></tr>{{end}}" +
			"</table></body></html>"))
)

func randomID() int32 { return rand.Int31n(10000) + 1 }

func queries(r *http.Request) int {
	n, err := strconv.Atoi(r.URL.Query().Get("queries"))
	if err != nil || n < 1 {
		return 1
	}
	if n > 500 {
		return 500
	}
	return n
}

func writeJSON(w http.ResponseWriter, v interface{}) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func readWorlds(n int) ([]World, error) {
	worlds := make([]World, n)
	for i := range worlds {
		if err := readWorld.QueryRow(randomID()).Scan(&worlds[i].ID, &worlds[i].RandomNumber); err != nil {
			return nil, err
		}
	}
	return worlds, nil
}

func main() {
	var err error
	if db, err = sql.Open("postgres", os.Getenv("SPINDLE_PG")); err != nil {
		log.Fatal(err)
	}
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(32)
	if readWorld, err = db.Prepare("SELECT id, randomnumber FROM world WHERE id = $1"); err != nil {
		log.Fatal(err)
	}
	if readAll, err = db.Prepare("SELECT id, message FROM fortune"); err != nil {
		log.Fatal(err)
	}
	// All of a request's rows in one statement, as bench_web's other servers write them.
	if writeWorld, err = db.Prepare("UPDATE world SET randomnumber = v.r FROM " +
		"(SELECT unnest($1::int[]) AS id, unnest($2::int[]) AS r) AS v WHERE world.id = v.id"); err != nil {
		log.Fatal(err)
	}
	hello := []byte("Hello, World!")
	http.HandleFunc("/plaintext", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write(hello)
	})
	http.HandleFunc("/json", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, struct {
			Message string `json:"message"`
		}{"Hello, World!"})
	})
	http.HandleFunc("/db", func(w http.ResponseWriter, r *http.Request) {
		worlds, err := readWorlds(1)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		writeJSON(w, worlds[0])
	})
	http.HandleFunc("/queries", func(w http.ResponseWriter, r *http.Request) {
		worlds, err := readWorlds(queries(r))
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		writeJSON(w, worlds)
	})
	http.HandleFunc("/fortunes", func(w http.ResponseWriter, r *http.Request) {
		rows, err := readAll.Query()
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		fortunes := []Fortune{{0, "Additional fortune added at request time."}}
		for rows.Next() {
			var f Fortune
			rows.Scan(&f.ID, &f.Message)
			fortunes = append(fortunes, f)
		}
		rows.Close()
		sort.Slice(fortunes, func(i, j int) bool { return fortunes[i].Message < fortunes[j].Message })
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		page.Execute(w, fortunes)
	})
	http.HandleFunc("/updates", func(w http.ResponseWriter, r *http.Request) {
		worlds, err := readWorlds(queries(r))
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		for i := range worlds {
			worlds[i].RandomNumber = randomID()
		}
		sorted := append([]World(nil), worlds...)
		sort.Slice(sorted, func(i, j int) bool { return sorted[i].ID < sorted[j].ID })
		ids := make([]int64, len(sorted))
		numbers := make([]int64, len(sorted))
		for i, world := range sorted {
			ids[i], numbers[i] = int64(world.ID), int64(world.RandomNumber)
		}
		if _, err := writeWorld.Exec(pq.Array(ids), pq.Array(numbers)); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		writeJSON(w, worlds)
	})
	// Every response names its server, as the specification asks.
	server := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", "Go")
		http.DefaultServeMux.ServeHTTP(w, r)
	})
	if err := http.ListenAndServe("127.0.0.1:"+os.Args[1], server); err != nil {
		log.Fatal(err)
	}
}

// Command whoami is PSF's stand-in for the traefik/whoami image (`traefik/whoami:v1.10`):
// its module (github.com/traefik/whoami) is not served by the Go module proxy this project may
// use and Docker Hub is unreachable, so scripts/build-images.sh builds this equivalent instead.
// It answers like traefik/whoami where stacks rely on it: `--port N` (default 80, or
// $WHOAMI_PORT_NUMBER) and `--name` ($WHOAMI_NAME); `/` prints Name:, Hostname:, IP: and
// RemoteAddr: lines then the request in wire format (request line, one `Name: value` line per
// header); `/api` the same as JSON; `/health` answers 200, and a POST with a status code body
// (e.g. `500`) sets what later GETs answer; `/bench` answers "1". Not here: TLS, /echo, /data.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

var (
	port    = flag.String("port", envOr("WHOAMI_PORT_NUMBER", "80"), "port number")
	name    = flag.String("name", os.Getenv("WHOAMI_NAME"), "name shown in the answers")
	verbose = flag.Bool("verbose", false, "log every request")
)

var health = struct {
	sync.Mutex
	status int
}{status: http.StatusOK}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func main() {
	flag.Parse()
	mux := http.NewServeMux()
	mux.HandleFunc("/", whoami)
	mux.HandleFunc("/api", api)
	mux.HandleFunc("/health", healthHandler)
	mux.HandleFunc("/bench", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, "1")
	})
	var h http.Handler = mux
	if *verbose {
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			log.Printf("%s %s %s", r.RemoteAddr, r.Method, r.URL)
			mux.ServeHTTP(w, r)
		})
	}
	log.Printf("Starting up on port %s", *port)
	log.Fatal(http.ListenAndServe(":"+*port, h))
}

func whoami(w http.ResponseWriter, r *http.Request) {
	if d, err := time.ParseDuration(r.URL.Query().Get("wait")); err == nil {
		time.Sleep(d)
	}
	if *name != "" {
		fmt.Fprintln(w, "Name:", *name)
	}
	host, _ := os.Hostname()
	fmt.Fprintln(w, "Hostname:", host)
	for _, ip := range ips() {
		fmt.Fprintln(w, "IP:", ip)
	}
	fmt.Fprintln(w, "RemoteAddr:", r.RemoteAddr)
	_ = r.Write(w) // the request line and headers, as traefik/whoami prints them
	if env, _ := strconv.ParseBool(r.URL.Query().Get("env")); env {
		for _, kv := range os.Environ() {
			fmt.Fprintln(w, kv)
		}
	}
}

func api(w http.ResponseWriter, r *http.Request) {
	host, _ := os.Hostname()
	data := map[string]any{
		"hostname": host, "ip": ips(), "headers": r.Header, "url": r.URL.RequestURI(),
		"host": r.Host, "method": r.Method, "remoteAddr": r.RemoteAddr,
	}
	if *name != "" {
		data["name"] = *name
	}
	if env, _ := strconv.ParseBool(r.URL.Query().Get("env")); env {
		vars := map[string]string{}
		for _, kv := range os.Environ() {
			k, v, _ := strings.Cut(kv, "=")
			vars[k] = v
		}
		data["environment"] = vars
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(data)
}

func healthHandler(w http.ResponseWriter, r *http.Request) {
	health.Lock()
	defer health.Unlock()
	if r.Method != http.MethodPost {
		w.WriteHeader(health.status)
		return
	}
	var status int
	if err := json.NewDecoder(r.Body).Decode(&status); err != nil || status < 100 || status > 999 {
		http.Error(w, fmt.Sprintf("a status code is expected: %v", err), http.StatusBadRequest)
		return
	}
	log.Printf("Update health check status code [%d]", status)
	health.status = status
}

func ips() []string {
	var out []string
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			out = append(out, n.IP.String())
		}
	}
	return out
}

// Command psf-probe checks an HTTP endpoint from inside a container:
//
//	psf-probe http://127.0.0.1:8080/health
//
// It exits 0 on a 2xx or 3xx answer and 1 otherwise, and prints what it saw (status line, the
// start of the body, or the connection error): Docker keeps that output in the container's
// health log, and psf prints it when a health check fails. Static, stdlib only, no shell.
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

func main() {
	if len(os.Args) != 2 || !strings.HasPrefix(os.Args[1], "http://") {
		fmt.Fprintln(os.Stderr, "usage: psf-probe http://127.0.0.1:<port>/<path>")
		os.Exit(2)
	}
	os.Exit(probe(os.Args[1], os.Stdout))
}

func probe(url string, out io.Writer) int {
	client := &http.Client{
		Timeout: 10 * time.Second,
		// A redirect (to a sign-in page, say) still means the server answers.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		fmt.Fprintf(out, "GET %s: %v\n", url, err)
		return 1
	}
	req.Header.Set("User-Agent", "psf-probe")
	res, err := client.Do(req)
	if err != nil {
		fmt.Fprintf(out, "GET %s: %v\n", url, err)
		return 1
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 200))
	fmt.Fprintf(out, "GET %s: %s", url, res.Status)
	if text := strings.TrimSpace(string(body)); text != "" {
		fmt.Fprintf(out, ": %s", strings.Join(strings.Fields(text), " "))
	}
	fmt.Fprintln(out)
	if res.StatusCode >= 200 && res.StatusCode < 400 {
		return 0
	}
	return 1
}

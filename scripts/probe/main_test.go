package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHealthyAnswerExitsZero(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	var out bytes.Buffer
	if code := probe(srv.URL+"/health", &out); code != 0 {
		t.Fatalf("exit %d, output %q", code, out.String())
	}
}

func TestServerErrorExitsOneAndShowsTheBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "database is down", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	var out bytes.Buffer
	if code := probe(srv.URL+"/health", &out); code != 1 {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(out.String(), "503") || !strings.Contains(out.String(), "database is down") {
		t.Fatalf("output %q", out.String())
	}
}

func TestRefusedConnectionExitsOneAndSaysWhy(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	var out bytes.Buffer
	if code := probe(url+"/health", &out); code != 1 {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(out.String(), "refused") {
		t.Fatalf("output %q", out.String())
	}
}

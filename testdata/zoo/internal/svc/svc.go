// Package svc is the scaffolding every zoo service shares: flags, the HTTP
// listener with net/http/pprof, a loopback client and the workload pacing.
//
// Each service is a package main that calls Setup, registers its handlers,
// calls Serve and then drives its own workload, so that merely running the
// binary produces the behaviour (leak or control) it demonstrates.
package svc

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime"
	"time"

	"heapdrift.dev/heapdriftprobe"
)

// Config holds the flags common to all zoo services.
type Config struct {
	Name string
	// Addr is the listen address; port 0 picks a free port.
	Addr string
	// Rate multiplies the workload speed: 2 makes a leak grow twice as fast.
	Rate float64
	// MemProfileRate is applied to runtime.MemProfileRate before any work.
	MemProfileRate int
	// Probe serves heapdrift's Go companion (/debug/heapdrift/) beside
	// net/http/pprof.
	Probe bool
}

// Setup parses the common flags (plus any the caller registered on the
// default FlagSet beforehand) and applies the memory profiling rate.
func Setup(name string) *Config {
	c := &Config{Name: name}
	flag.StringVar(&c.Addr, "addr", "127.0.0.1:0", "listen address (port 0 picks a free port)")
	flag.Float64Var(&c.Rate, "rate", 1, "workload speed multiplier (2 = twice as many requests, leaks grow twice as fast)")
	flag.IntVar(&c.MemProfileRate, "memprofilerate", runtime.MemProfileRate, "runtime.MemProfileRate (bytes per heap sample; 1 = every allocation)")
	flag.BoolVar(&c.Probe, "probe", false, "serve heapdriftprobe's /debug/heapdrift/ (current RSS, limits)")
	flag.Parse()
	if c.Rate <= 0 {
		fmt.Fprintf(os.Stderr, "%s: -rate must be > 0\n", name)
		os.Exit(2)
	}
	if c.MemProfileRate < 0 {
		fmt.Fprintf(os.Stderr, "%s: -memprofilerate must be >= 0\n", name)
		os.Exit(2)
	}
	// Set as early as possible: the rate applies to allocations made after it.
	runtime.MemProfileRate = c.MemProfileRate
	log.SetPrefix(name + ": ")
	log.SetFlags(log.Ltime)
	return c
}

// Interval scales a period given for Rate 1 by the configured rate.
func (c *Config) Interval(base time.Duration) time.Duration {
	d := time.Duration(float64(base) / c.Rate)
	if d < time.Millisecond {
		d = time.Millisecond
	}
	return d
}

// Serve registers the pprof endpoints on mux, starts listening and serving in
// the background, prints "listening on ADDR" as the first line on stdout and
// returns the base URL ("http://ADDR") for the service's own client.
func (c *Config) Serve(mux *http.ServeMux) string {
	return c.ServeServer(c.Listen(), &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second})
}

// Listen opens the service's listener on the -addr address.
func (c *Config) Listen() net.Listener {
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		log.Fatal(err)
	}
	return ln
}

// ServeServer is Serve for a service that configures its own http.Server
// (timeouts, ConnState hooks): srv.Handler must be a *http.ServeMux, on
// which the pprof endpoints are registered.
func (c *Config) ServeServer(ln net.Listener, srv *http.Server) string {
	mux, ok := srv.Handler.(*http.ServeMux)
	if !ok {
		log.Fatal("svc: the server's handler must be a *http.ServeMux")
	}
	// pprof.Index serves every named profile (heap, goroutine, goroutineleak, ...).
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	if c.Probe {
		heapdriftprobe.Register(mux)
	}

	addr := ln.Addr().String()
	fmt.Printf("listening on %s\n", addr)
	go func() {
		if err := srv.Serve(ln); err != nil {
			log.Fatal(err)
		}
	}()
	return "http://" + addr
}

// Every calls fn every base/Rate, forever, from the calling goroutine.
func (c *Config) Every(base time.Duration, fn func()) {
	t := time.NewTicker(c.Interval(base))
	defer t.Stop()
	for range t.C {
		fn()
	}
}

// Client returns an HTTP client for talking to the service itself over
// loopback. It has its own keep-alive transport so that connection reuse
// (or the lack of it) is the service's own doing.
func Client() *http.Client {
	return &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: 16, IdleConnTimeout: time.Minute},
		Timeout:   10 * time.Second,
	}
}

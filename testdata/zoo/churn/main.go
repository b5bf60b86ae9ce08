// Command churn is a control: a report-rendering service that allocates a
// lot of short-lived data per request (decoded JSON, intermediate maps and
// slices, the encoded response) and keeps none of it. High allocation rate,
// flat in-use heap. Expected verdict: stable (never leak).
//
// Workload: 25 reports per second (at -rate 1), ~8 MiB/s allocated.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"sort"
	"strings"
	"time"

	"zoo/internal/svc"
)

// Order is one line of the input data set.
type Order struct {
	ID       int     `json:"id"`
	Customer string  `json:"customer"`
	Region   string  `json:"region"`
	Amount   float64 `json:"amount"`
	Items    []int   `json:"items"`
}

// RegionTotal is one row of the rendered report.
type RegionTotal struct {
	Region string   `json:"region"`
	Orders int      `json:"orders"`
	Total  float64  `json:"total"`
	Top    []string `json:"top_customers"`
}

var regions = []string{"north", "south", "east", "west", "central"}

func handleReport(w http.ResponseWriter, r *http.Request) {
	var orders []Order
	if err := json.NewDecoder(r.Body).Decode(&orders); err != nil { // CONTROL: churn (decoded per request, dropped after)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	byRegion := map[string][]Order{}
	for _, o := range orders {
		byRegion[o.Region] = append(byRegion[o.Region], o)
	}
	var rows []RegionTotal
	for reg, os := range byRegion {
		spent := map[string]float64{}
		row := RegionTotal{Region: reg, Orders: len(os)}
		for _, o := range os {
			row.Total += o.Amount
			spent[o.Customer] += o.Amount
		}
		names := make([]string, 0, len(spent))
		for c := range spent {
			names = append(names, c)
		}
		sort.Slice(names, func(i, j int) bool { return spent[names[i]] > spent[names[j]] })
		row.Top = names[:min(3, len(names))]
		rows = append(rows, row)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Region < rows[j].Region })
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(rows)
}

// makeOrders builds a fresh random input batch.
func makeOrders(n int) []byte {
	orders := make([]Order, n)
	for i := range orders {
		items := make([]int, 1+rand.IntN(8))
		for j := range items {
			items[j] = rand.IntN(10000)
		}
		orders[i] = Order{ID: i, Customer: fmt.Sprintf("cust-%04d", rand.IntN(500)), Region: regions[rand.IntN(len(regions))], Amount: rand.Float64() * 500, Items: items}
	}
	b, err := json.Marshal(orders)
	if err != nil {
		panic(err)
	}
	return b
}

func main() {
	cfg := svc.Setup("churn")
	mux := http.NewServeMux()
	mux.HandleFunc("POST /report", handleReport)
	base := cfg.Serve(mux)

	client := svc.Client()
	cfg.Every(40*time.Millisecond, func() {
		body := makeOrders(400)
		resp, err := client.Post(base+"/report", "application/json", bytes.NewReader(body))
		if err != nil {
			log.Print(err)
			return
		}
		var sb strings.Builder
		io.Copy(&sb, resp.Body)
		resp.Body.Close()
	})
}

// Command mutex is a payments service with one lock per account. Withdraw
// returns early on insufficient funds without unlocking, so that account's
// mutex stays locked forever and every later payment from it blocks in Lock.
// Payment goroutines pile up on that line. The accounts (and their mutexes)
// stay reachable from the ledger, so the blocked goroutines are not provably
// dead to the GC.
//
// Workload: 4 payments per second (at -rate 1) over 16 accounts; once all
// accounts are poisoned (within ~20 s) every payment leaks a goroutine.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"zoo/internal/svc"
)

var errInsufficient = errors.New("insufficient funds")

// Account is one balance with its own lock.
type Account struct {
	ID      string
	mu      sync.Mutex
	balance int64
}

// Ledger holds all accounts.
type Ledger struct {
	accounts map[string]*Account
	paid     atomic.Int64
	declined atomic.Int64
}

// Withdraw debits amount from the account.
func (a *Account) Withdraw(amount int64) error {
	a.mu.Lock() // LEAK: mutex
	if a.balance < amount {
		return errInsufficient // bug: returns with the lock held
	}
	a.balance -= amount
	a.mu.Unlock()
	return nil
}

// Deposit credits amount to the account.
func (a *Account) Deposit(amount int64) {
	a.mu.Lock()
	a.balance += amount
	a.mu.Unlock()
}

type payment struct {
	From   string `json:"from"`
	Amount int64  `json:"amount"`
}

func (l *Ledger) handlePay(w http.ResponseWriter, r *http.Request) {
	var p payment
	if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	acct, ok := l.accounts[p.From]
	if !ok {
		http.NotFound(w, r)
		return
	}
	// Settlement is asynchronous: accept now, debit in the background.
	go func() {
		if err := acct.Withdraw(p.Amount); err != nil {
			l.declined.Add(1)
			return
		}
		l.paid.Add(1)
	}()
	w.WriteHeader(http.StatusAccepted)
}

func main() {
	cfg := svc.Setup("mutex")
	l := &Ledger{accounts: map[string]*Account{}}
	var ids []string
	for i := range 16 {
		id := fmt.Sprintf("acct-%03d", i)
		ids = append(ids, id)
		l.accounts[id] = &Account{ID: id, balance: 100}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /pay", l.handlePay)
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "paid %d declined %d\n", l.paid.Load(), l.declined.Load())
	})
	base := cfg.Serve(mux)

	client := svc.Client()
	cfg.Every(250*time.Millisecond, func() {
		body := fmt.Sprintf(`{"from":%q,"amount":%d}`, ids[rand.IntN(len(ids))], 20+rand.IntN(200))
		resp, err := client.Post(base+"/pay", "application/json", strings.NewReader(body))
		if err != nil {
			log.Print(err)
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	})
}

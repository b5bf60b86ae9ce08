// A larger cgo-free program for the objfile differential tests: it links
// much of the standard library (HTTP, TLS, crypto with its assembly,
// compression, JSON, big numbers, regular expressions) so that the binary
// holds the wide instruction mix of real Go services.
package main

import (
	"bytes"
	"compress/gzip"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"math/big"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"unicode/utf8"
)

func main() {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	block, _ := aes.NewCipher(key)
	gcm, _ := cipher.NewGCM(block)
	nonce := make([]byte, gcm.NonceSize())
	sealed := gcm.Seal(nil, nonce, []byte("hello"), nil)
	fmt.Println(len(sealed), sha256.Sum256(sealed), sha512.Sum512(sealed))
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	fmt.Println(priv.PublicKey.X.BitLen())
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(bytes.Repeat([]byte("abc"), 1000))
	_ = zw.Close()
	fmt.Println(buf.Len(), crc32.ChecksumIEEE(buf.Bytes()))
	out, _ := json.Marshal(map[string]any{"a": 1, "b": []float64{1.5, 2}})
	fmt.Println(string(out), new(big.Int).Exp(big.NewInt(3), big.NewInt(200), nil))
	re := regexp.MustCompile(`(\w+)@(\w+)\.com`)
	fmt.Println(re.FindAllStringSubmatch("a@b.com c@d.com", -1), utf8.RuneCountInString("héllo"))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, strings.ToUpper(r.URL.Path))
	}))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/ok")
	if err == nil {
		resp.Body.Close()
		fmt.Println(resp.Status)
	}
}

// Package codec encodes records into byte slices; its helpers are small enough
// to be inlined, so profiles show inline frames.
package codec

import (
	"encoding/binary"
	"hash/crc32"
	"strings"
)

// Record is what the fixture program stores.
type Record struct {
	ID    int
	Name  string
	Tags  []string
	Blob  []byte
	Score float64
}

func header(n int) []byte { return make([]byte, 8, 8+n) }

// Encode serialises r with a checksum.
func Encode(r *Record) []byte {
	buf := header(len(r.Name) + len(r.Blob))
	binary.LittleEndian.PutUint64(buf, uint64(r.ID))
	buf = append(buf, r.Name...)
	buf = append(buf, strings.Join(r.Tags, ",")...)
	buf = append(buf, r.Blob...)
	return binary.LittleEndian.AppendUint32(buf, crc32.ChecksumIEEE(buf))
}

// Decode is the inverse of Encode, enough for the fixture's needs.
func Decode(b []byte) *Record {
	if len(b) < 12 {
		return nil
	}
	r := &Record{ID: int(binary.LittleEndian.Uint64(b))}
	r.Blob = append([]byte(nil), b[8:len(b)-4]...)
	return r
}

	// line 1 of alloc.go
	// line 2 of alloc.go
	// line 3 of alloc.go
	// line 4 of alloc.go
	// line 5 of alloc.go
	// line 6 of alloc.go
	// line 7 of alloc.go
	// line 8 of alloc.go
	// line 9 of alloc.go
	b := make([]byte, 1024)
	// line 11 of alloc.go
	sink = b
	// line 13 of alloc.go
	// line 14 of alloc.go

module objfiletest

go 1.24

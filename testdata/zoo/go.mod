module zoo

go 1.27

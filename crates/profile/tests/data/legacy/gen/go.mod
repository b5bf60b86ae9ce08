module heapdrift/legacygen

go 1.27

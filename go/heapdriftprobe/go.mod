module heapdrift.dev/heapdriftprobe

go 1.22

module guardleak

go 1.22

require heapdrift.dev/heapdriftprobe v0.0.0

replace heapdrift.dev/heapdriftprobe => ../../../go/heapdriftprobe

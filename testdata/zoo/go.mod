module zoo

go 1.27

require heapdrift.dev/heapdriftprobe v0.0.0

// heapdrift's Go companion, from this repository (services serve it with
// -probe).
replace heapdrift.dev/heapdriftprobe => ../../go/heapdriftprobe

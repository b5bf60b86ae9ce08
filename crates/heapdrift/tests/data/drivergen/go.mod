module drivergen

go 1.22

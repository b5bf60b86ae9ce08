module objfilecgo

go 1.24

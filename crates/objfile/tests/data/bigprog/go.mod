module objfilebig

go 1.24

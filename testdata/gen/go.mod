module fixturegen

go 1.27

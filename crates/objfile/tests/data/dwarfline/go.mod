module dwarfline

go 1.24

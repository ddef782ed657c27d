module github.com/walkerdb/walkerdb/internal

go 1.26

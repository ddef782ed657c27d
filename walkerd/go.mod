module github.com/walkerdb/walkerdb/walkerd

go 1.26

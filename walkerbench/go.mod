module github.com/walkerdb/walkerdb/walkerbench

go 1.26

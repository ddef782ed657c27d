module github.com/walkerdb/walkerdb/walkerdump

go 1.26

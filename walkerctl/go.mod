module github.com/walkerdb/walkerdb/walkerctl

go 1.26

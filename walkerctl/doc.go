// Command walkerctl is WalkerDB's cluster admin tool. It talks RESP to any
// node and never imports walkerd. It arrives with the walkerctl issue.
package main

package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
)

// instanceID names this process among the instances sharing a database, as
// the holder of poll leases: the host and pid say which process it is in a
// log, the random part keeps a restarted process with a reused pid (every
// container's pid 1) from being taken for its dead predecessor.
func instanceID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown-host"
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return fmt.Sprintf("%s:%d:%s", host, os.Getpid(), hex.EncodeToString(b))
}

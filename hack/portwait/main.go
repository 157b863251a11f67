// Command portwait returns once every TCP port given accepts a connection
// on 127.0.0.1, trying each every millisecond, or fails after a deadline.
// hack/bench-floor.sh uses it to time starts, berth's and the floor's alike.
//
//	portwait [-timeout 10s] PORT...
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"
)

func main() {
	timeout := flag.Duration("timeout", 10*time.Second, "give up after this long")
	flag.Parse()
	deadline := time.Now().Add(*timeout)
	for _, a := range flag.Args() {
		if _, err := strconv.Atoi(a); err != nil {
			fmt.Fprintf(os.Stderr, "portwait: %q is not a port\n", a)
			os.Exit(2)
		}
		addr := "127.0.0.1:" + a
		for {
			c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				fmt.Fprintf(os.Stderr, "portwait: %s does not accept: %v\n", addr, err)
				os.Exit(1)
			}
			time.Sleep(time.Millisecond)
		}
	}
}

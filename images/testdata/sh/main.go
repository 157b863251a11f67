// Command sh is a tiny static stand-in for /bin/sh in FROM scratch test
// images: `sh -c "cmd args && cmd args"` with the commands echo, fail,
// write, check and absent.
package main

import (
	"fmt"
	"os"
	"strings"
)

func main() {
	if len(os.Args) < 3 || os.Args[1] != "-c" {
		fmt.Fprintln(os.Stderr, "usage: sh -c SCRIPT")
		os.Exit(2)
	}
	for _, cmd := range strings.Split(os.Args[2], "&&") {
		w := strings.Fields(os.ExpandEnv(cmd))
		if len(w) == 0 {
			continue
		}
		switch w[0] {
		case "echo":
			fmt.Println(strings.Join(w[1:], " "))
		case "fail":
			fmt.Fprintln(os.Stderr, strings.Join(w[1:], " "))
			os.Exit(3)
		case "write":
			if err := os.WriteFile(w[1], []byte(strings.Join(w[2:], " ")), 0o644); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
		case "check":
			if _, err := os.Stat(w[1]); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
		case "absent":
			if _, err := os.Stat(w[1]); err == nil {
				fmt.Fprintln(os.Stderr, w[1], "exists")
				os.Exit(1)
			}
		default:
			fmt.Fprintln(os.Stderr, "sh: unknown command", w[0])
			os.Exit(127)
		}
	}
}

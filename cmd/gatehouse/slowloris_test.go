package main

import (
	"context"
	"io"
	"net"
	"path/filepath"
	"testing"
	"time"
)

// TestSlowloris_SlowHeadersAreCutOff: clients that send their headers a
// byte at a time are disconnected by the server's header timeout (5 s),
// and while many of them hold connections, other clients are served.
func TestSlowloris_SlowHeadersAreCutOff(t *testing.T) {
	if testing.Short() {
		t.Skip("takes the server's header timeout")
	}
	t.Parallel()
	n := &clusterNode{name: "slow", addr: freeAddr(t), dsn: "sqlite:" + filepath.Join(t.TempDir(), "s.db"),
		log: filepath.Join(t.TempDir(), "node.log")}
	n.start(t)
	t.Cleanup(func() { n.kill(t) })

	const attackers = 200
	closed := make(chan time.Duration, attackers)
	for range attackers {
		conn, err := net.Dial("tcp", n.addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		go func() {
			start := time.Now()
			conn.Write([]byte("POST /v1/workspaces/x/check HTTP/1.1\r\nHost: x\r\n"))
			go func() { // a header byte now and then, never the end of the headers
				for range 60 {
					time.Sleep(500 * time.Millisecond)
					if _, err := conn.Write([]byte("X")); err != nil {
						return
					}
				}
			}()
			io.Copy(io.Discard, conn) // returns when the server closes
			closed <- time.Since(start)
		}()
	}
	c := n.client()
	ctx := context.Background()
	for range 20 {
		if _, err := c.Health(ctx); err != nil {
			t.Fatalf("a normal client is not served while slow clients hold connections: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	deadline := time.After(15 * time.Second)
	for range attackers {
		select {
		case d := <-closed:
			if d > 8*time.Second {
				t.Errorf("a slow client was cut off after %v", d)
			}
		case <-deadline:
			t.Fatal("slow clients still connected after 15 s")
		}
	}
}

//go:build linux

package scale

import (
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
)

// The two benchmarks below measure the machine, not Gatehouse: what the
// scale figures are bound by, so that a reader can tell how far their own
// machine would move them (BENCHMARKS.md, "What this VM's memory costs").
//
//	go test -run '^$' -bench 'MemoryChase|FreshPages' -benchtime 2s ./internal/scale

// BenchmarkMemoryChase is a pointer chase: one dependent load at a time
// over a random cycle through working sets of 1 MiB to 1 GiB, one cache
// line per step. ns/op is the cost of one load that misses every cache
// the working set outgrows: what a check over many workspaces pays for
// each record it touches.
func BenchmarkMemoryChase(b *testing.B) {
	for _, mib := range []int{1, 4, 16, 64, 256, 1024} {
		b.Run(fmt.Sprintf("%dMiB", mib), func(b *testing.B) {
			const line = 64 / 8 // uint64s per cache line
			n := mib << 20 / 64
			next := make([]uint64, n*line)
			order := rand.New(rand.NewPCG(1, 2)).Perm(n)
			for i := range n {
				next[order[i]*line] = uint64(order[(i+1)%n] * line)
			}
			var at uint64
			b.ResetTimer()
			for range b.N {
				at = next[at]
			}
			chaseSink = at
		})
	}
}

var chaseSink uint64

// BenchmarkFreshPages maps anonymous memory and writes one byte to each of
// its 4 KiB pages, the first touch of each: ns/op is the cost of giving a
// process one page it has not used before (the kernel's fault, zeroing,
// and under a hypervisor the host's share). A node's start-up pays it for
// every page its heap grows by. With madvise(MADV_HUGEPAGE) the kernel may
// back the mapping with 2 MiB pages; ns/op is still per 4 KiB.
func BenchmarkFreshPages(b *testing.B) {
	for _, huge := range []bool{false, true} {
		name := "4KiB"
		if huge {
			name = "hugepage"
		}
		b.Run(name, func(b *testing.B) {
			const chunk = 256 << 20
			const page = 4 << 10
			left := b.N
			for left > 0 {
				mem, err := syscall.Mmap(-1, 0, chunk, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
				if err != nil {
					b.Fatal(err)
				}
				if huge {
					if err := syscall.Madvise(mem, syscall.MADV_HUGEPAGE); err != nil {
						b.Skipf("madvise(MADV_HUGEPAGE): %v", err)
					}
				}
				for off := 0; off < chunk && left > 0; off += page {
					mem[off] = 1
					left--
				}
				b.StopTimer()
				if err := syscall.Munmap(mem); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}

//go:build race

package storetest

// raceEnabled reports a build with the race detector, which slows every
// test many times over: timing assertions hold only without it.
const raceEnabled = true

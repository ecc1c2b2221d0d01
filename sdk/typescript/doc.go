// Package typescript holds the test that runs the TypeScript SDK (this
// directory's npm package) against a real Gatehouse server; the SDK itself
// is TypeScript and has no Go code.
package typescript

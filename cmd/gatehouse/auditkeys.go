package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strings"

	"github.com/gatehouse-authz/gatehouse/admin"
)

// The audit chain is keyed (X4) with keys kept outside the database, so
// that rewriting the database alone never yields a chain that verifies.
// serve takes them from GATEHOUSE_AUDIT_KEY (the keys themselves) or
// --audit-key-file; every node of a deployment uses the same keys.
//
// Without either: on SQLite, a key is generated into a file beside the
// database (<db>.audit-key, mode 0600) on first start and read from it
// afterwards, with a warning to keep it elsewhere too; on PostgreSQL,
// whose nodes must share one key, serve refuses to start unless
// --insecure-unkeyed-audit (development) asks for the old, unkeyed chain.

// auditKeyFileHeader heads a generated key file.
const auditKeyFileHeader = `# Gatehouse audit keys (X4). One key per line: "<id> <base64 secret>".
# The last line signs new audit entries; every line verifies. To rotate,
# append a line (gatehouse audit keygen --id <new id>) on every node and
# restart them; keep the old lines for as long as entries they signed exist.
`

// resolveAuditKeys returns the audit keys serve runs with, or nil for an
// unkeyed chain (only with --insecure-unkeyed-audit).
func resolveAuditKeys(cfg *serveConfig, getenv func(string) string, log *slog.Logger) ([]admin.AuditKey, error) {
	inline := getenv("GATEHOUSE_AUDIT_KEY")
	switch {
	case inline != "" && cfg.AuditKeyFile != "":
		return nil, errors.New("audit keys: give GATEHOUSE_AUDIT_KEY or --audit-key-file, not both")
	case (inline != "" || cfg.AuditKeyFile != "") && cfg.UnkeyedAudit:
		return nil, errors.New("audit keys: --insecure-unkeyed-audit and an audit key exclude each other")
	case inline != "":
		keys, err := admin.ParseAuditKeys(inline)
		if err != nil {
			return nil, fmt.Errorf("$GATEHOUSE_AUDIT_KEY: %w", err)
		}
		return keys, nil
	case cfg.AuditKeyFile != "":
		return readAuditKeyFile(cfg.AuditKeyFile, log)
	case cfg.UnkeyedAudit:
		log.Warn("the audit chain is unkeyed (--insecure-unkeyed-audit): whoever can write the database can rewrite it undetected; for development only")
		return nil, nil
	}
	path, ok := strings.CutPrefix(cfg.Database, "sqlite:")
	if !ok {
		return nil, errors.New("audit keys: a PostgreSQL deployment needs an audit key that every node shares, kept outside the database: " +
			"set GATEHOUSE_AUDIT_KEY or --audit-key-file (make one with: gatehouse audit keygen), " +
			"or pass --insecure-unkeyed-audit for development")
	}
	path += ".audit-key"
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		line, err := admin.NewAuditKeyLine("local-" + randomHex(4))
		if err != nil {
			return nil, err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			_, err = io.WriteString(f, auditKeyFileHeader+line+"\n")
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("audit keys: generate %s: %w", path, err)
		}
		if err == nil {
			log.Warn("generated an audit key beside the database; copy it somewhere the database's backups are not, "+
				"or pass --audit-key-file: whoever holds the database and this file can rewrite the audit log", "file", path)
		}
	}
	return readAuditKeyFile(path, log)
}

func readAuditKeyFile(path string, log *slog.Logger) ([]admin.AuditKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--audit-key-file: %w (make one with: gatehouse audit keygen > %s)", err, path)
	}
	if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o077 != 0 {
		log.Warn("the audit key file is readable by other users; chmod 600 it", "file", path, "mode", st.Mode().Perm().String())
	}
	keys, err := admin.ParseAuditKeys(string(data))
	if err != nil {
		return nil, fmt.Errorf("--audit-key-file %s: %w", path, err)
	}
	return keys, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// auditKeygen is "gatehouse audit keygen": print a new audit key line, to
// start a key file or to append to one (rotation).
func auditKeygen(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("gatehouse audit keygen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	id := fs.String("id", "", "the new key's id (default: k-<random>); unique within the key file")
	header := fs.Bool("header", true, "print the key file's explanatory comment first")
	if err := fs.Parse(args); err != nil {
		return parseError(err)
	}
	if *id == "" {
		*id = "k-" + randomHex(4)
	}
	line, err := admin.NewAuditKeyLine(*id)
	if err != nil {
		fmt.Fprintln(stderr, "error: invalid_argument:", err)
		return exitError{2}
	}
	if *header {
		fmt.Fprint(stdout, auditKeyFileHeader)
	}
	fmt.Fprintln(stdout, line)
	return nil
}

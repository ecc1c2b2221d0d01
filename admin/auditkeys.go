package admin

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"strconv"
	"strings"
)

// The audit chain is keyed (X4): each entry's Hash is an HMAC-SHA256,
// under a key kept outside the database, of its fields and of its
// predecessor's Hash. Whoever can change the database but does not hold
// the key cannot write an entry, or recompute the chain after changing
// one, that verifies. A plain SHA-256 chain, which is what entries
// written before keys existed carry, anyone can recompute.
//
// Keys rotate: an entry names the key that signed it (KeyID), a Service
// verifies with every key it is given and signs with the newest, and the
// nodes of a deployment share one key list.

// AuditKey is one key of the audit chain.
type AuditKey struct {
	ID     string
	Secret []byte
}

// MinAuditKeyBytes is the shortest secret an audit key may have.
const MinAuditKeyBytes = 32

// ParseAuditKeys reads audit keys from text: one key per line (or per
// ";"), "<id> <secret>", the secret in base64 (standard or URL
// alphabet, padded or not) of at least MinAuditKeyBytes bytes. Blank
// lines and lines starting with # are skipped. The last key signs new
// entries; all of them verify. Ids are 1–32 letters, digits, '_', '-'
// or '.', and unique.
func ParseAuditKeys(text string) ([]AuditKey, error) {
	var out []AuditKey
	seen := map[string]bool{}
	var lines []string
	for _, line := range strings.Split(text, "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			lines = append(lines, strings.Split(line, ";")...)
		}
	}
	for n, line := range lines {
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			return nil, fmt.Errorf("audit key %d: want \"<id> <base64 secret>\"", n+1)
		}
		id, secret := f[0], f[1]
		if !validKeyID(id) {
			return nil, fmt.Errorf("audit key %d: id %q: want 1–32 letters, digits, '_', '-' or '.'", n+1, id)
		}
		if seen[id] {
			return nil, fmt.Errorf("audit key %d: id %q appears twice", n+1, id)
		}
		seen[id] = true
		b, err := decodeSecret(secret)
		if err != nil {
			return nil, fmt.Errorf("audit key %s: the secret is not base64", id)
		}
		if len(b) < MinAuditKeyBytes {
			return nil, fmt.Errorf("audit key %s: the secret has %d bytes; want at least %d random bytes", id, len(b), MinAuditKeyBytes)
		}
		out = append(out, AuditKey{ID: id, Secret: b})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no audit key: want lines \"<id> <base64 secret>\"")
	}
	return out, nil
}

func decodeSecret(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, fmt.Errorf("not base64")
}

func validKeyID(id string) bool {
	if id == "" || len(id) > 32 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}

// NewAuditKeyLine returns a new random key with the given id as a line of
// a key file.
func NewAuditKeyLine(id string) (string, error) {
	if !validKeyID(id) {
		return "", fmt.Errorf("audit key id %q: want 1–32 letters, digits, '_', '-' or '.'", id)
	}
	b := make([]byte, MinAuditKeyBytes)
	rand.Read(b)
	return id + " " + base64.StdEncoding.EncodeToString(b), nil
}

// auditKeyring is a Service's audit keys: by id for verifying, the
// newest for signing. The zero value has none: entries are written
// unkeyed, as before keys existed.
type auditKeyring struct {
	byID   map[string][]byte
	signer *AuditKey
	ids    []string
}

func newAuditKeyring(keys []AuditKey) auditKeyring {
	if len(keys) == 0 {
		return auditKeyring{}
	}
	r := auditKeyring{byID: map[string][]byte{}}
	for i := range keys {
		r.byID[keys[i].ID] = keys[i].Secret
		r.ids = append(r.ids, keys[i].ID)
	}
	r.signer = &keys[len(keys)-1]
	return r
}

// seal sets an entry's KeyID and Hash: an HMAC under key k, or, without
// a key, the legacy plain SHA-256.
func seal(e *AuditEntry, k *AuditKey) {
	if k == nil {
		e.KeyID, e.Hash = "", hashEntry(e)
		return
	}
	e.KeyID = k.ID
	e.Hash = macEntry(e, k.Secret)
}

// macEntry is the keyed hash of an entry: HMAC-SHA256 under secret of a
// version tag, the key id, every field (ActorName included) and the
// predecessor's hash, each length-prefixed.
func macEntry(e *AuditEntry, secret []byte) string {
	h := hmac.New(sha256.New, secret)
	writeField(h, "gatehouse-audit-v2")
	writeField(h, e.KeyID)
	writeEntry(h, e)
	writeField(h, e.ActorName)
	return hex.EncodeToString(h.Sum(nil))
}

// writeEntry writes the fields both chains cover, in their order.
func writeEntry(h hash.Hash, e *AuditEntry) {
	for _, f := range []string{e.PrevHash, strconv.FormatInt(e.Seq, 10), e.Time.UTC().Format("2006-01-02T15:04:05.000000Z"),
		strconv.FormatInt(e.Revision, 10), e.Actor, e.Action, e.Target, string(e.Before), string(e.After), e.Reason} {
		writeField(h, f)
	}
}

func writeField(h hash.Hash, f string) {
	h.Write(strconv.AppendInt(nil, int64(len(f)), 10))
	h.Write([]byte{':'})
	h.Write([]byte(f))
}

// checkEntry reports what is wrong with an entry's hash, "" if nothing,
// and whether the entry is keyed.
func (r auditKeyring) checkEntry(e *AuditEntry) (problem string, keyed bool) {
	if e.KeyID == "" {
		if hashEntry(e) != e.Hash {
			return fmt.Sprintf("entry %d was altered: its hash does not match its contents", e.Seq), false
		}
		return "", false
	}
	secret, ok := r.byID[e.KeyID]
	if !ok {
		return fmt.Sprintf("entry %d is signed with audit key %q, which this server does not have (it has %s): configure every key the log was signed with",
			e.Seq, e.KeyID, r.describe()), true
	}
	if !hmac.Equal([]byte(macEntry(e, secret)), []byte(e.Hash)) {
		return fmt.Sprintf("entry %d was altered: its MAC under audit key %q does not match its contents", e.Seq, e.KeyID), true
	}
	return "", true
}

func (r auditKeyring) describe() string {
	if len(r.ids) == 0 {
		return "no audit key"
	}
	return "keys " + strings.Join(r.ids, ", ")
}

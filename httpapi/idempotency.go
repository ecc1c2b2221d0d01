package httpapi

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// IdempotencyStore keeps the answers of POSTs that carried an
// Idempotency-Key (both stores implement it; see store/internal/sqlstore).
type IdempotencyStore interface {
	// ClaimIdempotencyKey starts a request under (scope, keyHash) unless
	// a live record exists; then it returns that record's fingerprint and
	// answer (nil while it runs) and claimed false.
	ClaimIdempotencyKey(ctx context.Context, scope, keyHash, fingerprint string, now, expires time.Time) (prevFingerprint string, answer []byte, claimed bool, err error)
	// CompleteIdempotencyKey stores the claimed request's answer.
	CompleteIdempotencyKey(ctx context.Context, scope, keyHash string, answer []byte) error
	// ReleaseIdempotencyKey forgets a claim whose request failed.
	ReleaseIdempotencyKey(ctx context.Context, scope, keyHash string) error
}

// IdempotencyTTL is how long an Idempotency-Key's first answer is kept:
// a retry within it gets that answer again.
const IdempotencyTTL = 24 * time.Hour

// maxIdempotencyKey bounds the header (Stripe and the IETF draft use 255).
const maxIdempotencyKey = 255

// replayedHeaders are the headers of an answer that a replay repeats.
var replayedHeaders = []string{"Content-Type", "Cache-Control", "ETag", "Gatehouse-Revision", "Location"}

// storedAnswer is an answer as kept for replays.
type storedAnswer struct {
	Status int               `json:"status"`
	Header map[string]string `json:"header"`
	Body   []byte            `json:"body"`
}

// idempotent makes a POST that creates something safe to retry
// (draft-ietf-httpapi-idempotency-key-header): with an Idempotency-Key, the
// first successful answer is kept for IdempotencyTTL and a retry with the
// same key and the same request gets it again (header Idempotent-Replayed:
// true) instead of a second object, or name_taken. The same key with
// another request is idempotency_key_reused (422); while the first still
// runs, idempotency_key_in_use (409). Keys are per caller: workspace, API
// key and acting member, so no one replays another's answer. An answer
// that failed is not kept: a retry runs afresh.
func (s *Server) idempotent(h handler) handler {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		key := r.Header.Get("Idempotency-Key")
		if key == "" || s.cfg.Idempotency == nil {
			return h(w, r, c)
		}
		if len(key) > maxIdempotencyKey || !printableASCII(key) {
			return invalid("Idempotency-Key", "Idempotency-Key must be 1 to %d printable ASCII characters, e.g. a UUID", maxIdempotencyKey)
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
		if err != nil {
			return decodeError(err)
		}
		r.Body = io.NopCloser(bytes.NewReader(body))

		who := "deployment"
		if !c.deployed {
			who = "key:" + c.key.ID
		}
		// Hashed: ids may hold any character, and the store keys on it.
		scope := hashHex(c.ws, who, c.write.Actor.UserID)
		keyHash := hashHex(key)
		fingerprint := hashHex(r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Gatehouse-Reason"), string(body))
		seal, err := sealer(r, scope, key)
		if err != nil {
			return err
		}
		ctx := r.Context()
		now := s.now()
		prev, answer, claimed, err := s.cfg.Idempotency.ClaimIdempotencyKey(ctx, scope, keyHash, fingerprint, now, now.Add(IdempotencyTTL))
		if err != nil {
			return err
		}
		if !claimed {
			switch {
			case prev != fingerprint:
				return &policy.Error{Code: policy.CodeIdempotencyKeyReused,
					Message: "this Idempotency-Key was used with another request; use a new key for a new request",
					Details: map[string]any{"field": "Idempotency-Key"}}
			case answer == nil:
				w.Header().Set("Retry-After", "1")
				return &policy.Error{Code: policy.CodeIdempotencyKeyInUse,
					Message: "a request with this Idempotency-Key is still running; retry shortly for its answer",
					Details: map[string]any{"field": "Idempotency-Key"}}
			}
			return replay(w, seal, answer)
		}
		rec := &recordingWriter{ResponseWriter: w}
		if err := h(rec, r, c); err != nil || rec.status >= 300 {
			// Not kept: a retry runs afresh. The context may be cancelled.
			s.releaseIdempotency(scope, keyHash)
			return err
		}
		stored := storedAnswer{Status: rec.status, Header: map[string]string{}, Body: rec.body.Bytes()}
		for _, k := range replayedHeaders {
			if v := w.Header().Get(k); v != "" {
				stored.Header[k] = v
			}
		}
		plain, _ := json.Marshal(stored)
		if err := s.cfg.Idempotency.CompleteIdempotencyKey(context.WithoutCancel(ctx), scope, keyHash, seal.seal(plain)); err != nil {
			s.log.Error("idempotency: storing an answer", "err", err)
			s.releaseIdempotency(scope, keyHash)
		}
		return nil
	}
}

func (s *Server) releaseIdempotency(scope, keyHash string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.cfg.Idempotency.ReleaseIdempotencyKey(ctx, scope, keyHash); err != nil {
		s.log.Error("idempotency: releasing a key", "err", err)
	}
}

func replay(w http.ResponseWriter, seal aead, sealed []byte) error {
	plain, err := seal.open(sealed)
	if err != nil {
		return errors.New("idempotency: a stored answer does not open")
	}
	var a storedAnswer
	if err := json.Unmarshal(plain, &a); err != nil {
		return errors.New("idempotency: a stored answer does not decode")
	}
	for k, v := range a.Header {
		w.Header().Set(k, v)
	}
	w.Header().Set("Idempotent-Replayed", "true")
	w.WriteHeader(a.Status)
	w.Write(a.Body)
	return nil
}

// aead seals stored answers under a key derived from the caller's bearer
// token: they may hold secrets (a created API key, a console link), and
// the database alone must not reveal them.
type aead struct{ cipher.AEAD }

func sealer(r *http.Request, scope, idemKey string) (aead, error) {
	token, _ := bearer(r.Header.Get("Authorization"))
	m := hmac.New(sha256.New, []byte(token))
	m.Write([]byte("gatehouse idempotency v1\x00" + scope + "\x00" + idemKey))
	block, err := aes.NewCipher(m.Sum(nil))
	if err != nil {
		return aead{}, err
	}
	g, err := cipher.NewGCM(block)
	return aead{g}, err
}

func (a aead) seal(plain []byte) []byte {
	nonce := make([]byte, a.NonceSize())
	rand.Read(nonce)
	out := a.Seal(nonce, nonce, plain, nil)
	return []byte(base64.StdEncoding.EncodeToString(out))
}

func (a aead) open(sealed []byte) ([]byte, error) {
	raw, err := base64.StdEncoding.DecodeString(string(sealed))
	if err != nil || len(raw) < a.NonceSize() {
		return nil, errors.New("malformed")
	}
	return a.Open(nil, raw[:a.NonceSize()], raw[a.NonceSize():], nil)
}

// hashHex is the hex SHA-256 of parts, each length-prefixed so that no two
// lists of parts hash alike.
func hashHex(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		var n [8]byte
		for i := range n {
			n[i] = byte(len(p) >> (8 * i))
		}
		h.Write(n[:])
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil))
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return s != ""
}

// recordingWriter passes an answer through and keeps a copy.
type recordingWriter struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (rw *recordingWriter) WriteHeader(code int) {
	if rw.status == 0 {
		rw.status = code
	}
	rw.ResponseWriter.WriteHeader(code)
}

func (rw *recordingWriter) Write(b []byte) (int, error) {
	if rw.status == 0 {
		rw.status = http.StatusOK
	}
	rw.body.Write(b)
	return rw.ResponseWriter.Write(b)
}
